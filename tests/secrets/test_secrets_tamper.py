"""qv agrees with `sops -d` on every tampered value and key stanza of a real sops file (SPEC §8).

sops does not authenticate a value's ``type:`` tag (nor anything outside the AES-GCM tag and
the MAC), so anyone can edit it. Each row edits one value of a file encrypted by the real sops
binary, then decrypts it twice: with ``sops -d`` and in-process. Where sops fails, qv raises
``Tampered`` (exit 1, QV603) naming the file and the field, never a plaintext; where sops
succeeds, qv yields the value sops yields. The same for the age stanza holding the data key
(opened by pyrage): malformed or altered is ``Tampered``; no key of ours is exit 3 naming the
recipients, as before.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from qv_config.errors import OperationalError, QvError
from qv_config.secrets import decrypt_documents, generate_identity, key_file_text
from qv_config.secrets.binary import run_sops
from qv_config.secrets.tamper import Tampered
from qv_config.yamlio import load_bytes

CANARY = "hunter2-Zq9-typetag-canary"
HUGE = "99999999999999999999"  # digits beyond int64: Go's Atoi refuses them, Python's int() not

PLAIN = f"""\
a_str: {CANARY}
a_digits: "5432"
a_huge: "{HUGE}"
a_int: 5432
a_float: 1.5
a_whole: 2.0
a_bool: true
a_true: "True"
a_inf: "+Inf"
a_nan: "NaN"
a_neg0: "-0"
a_list: [{CANARY}-item, 1]
keep: visible
"""

FAIL = object()  # sops -d refuses the file


@dataclass(frozen=True)
class Encrypted:
    text: str
    key_file: Path
    folder: Path


def _encrypt(folder: Path, recipient: str) -> str:
    """``plain.yaml`` of ``folder`` encrypted by the real sops to ``recipient``."""
    done = run_sops(
        ["encrypt", "--age", recipient, "--encrypted-regex", "^a_", "plain.yaml"], cwd=folder
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Encrypted:
    folder = tmp_path_factory.mktemp("typetag")
    identity = generate_identity()
    key_file = folder / "k.agekey"
    key_file.write_text(key_file_text(identity))
    (folder / "plain.yaml").write_text(PLAIN)
    return Encrypted(_encrypt(folder, identity.recipient), key_file, folder)


def retag(field: str, tag: str) -> Callable[[str], str]:
    """Set the ``type:`` tag of ``field``'s ciphertext (``a_list``: of its second item)."""

    def edit(text: str) -> str:
        lines = text.splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{field}:"))
        at += 2 if field == "a_list" else 0
        lines[at] = re.sub(r"type:[^\]]*\]", f"type:{tag}]", lines[at], count=1)
        return "".join(lines)

    return edit


def envelope(field: str, old: str, new: str) -> Callable[[str], str]:
    """Replace ``old`` by ``new`` inside ``field``'s ``ENC[…]`` text (a regex on that line)."""

    def edit(text: str) -> str:
        line = re.search(rf"^ *{field}: .*$", text, re.M)
        assert line is not None
        changed = re.sub(old, new, line.group(0), count=1)
        assert changed != line.group(0), (field, old)
        return text[: line.start()] + changed + text[line.end() :]

    return edit


# (id, edit, field path qv must name when sops fails, what sops -d yields for that field)
ROWS: list[tuple[str, Callable[[str], str], tuple[str | int, ...], Any]] = [
    ("str-as-int", retag("a_str", "int"), ("a_str",), FAIL),
    ("str-as-float", retag("a_str", "float"), ("a_str",), FAIL),
    ("str-as-bool", retag("a_str", "bool"), ("a_str",), FAIL),
    ("str-as-bytes", retag("a_str", "bytes"), ("a_str",), FAIL),  # sops panics
    ("str-as-comment", retag("a_str", "comment"), ("a_str",), FAIL),  # out of the MAC
    ("str-as-unknown", retag("a_str", "xyz"), ("a_str",), FAIL),
    ("str-as-upper", retag("a_str", "STR"), ("a_str",), FAIL),
    ("str-as-int64", retag("a_str", "int64"), ("a_str",), FAIL),
    ("str-as-empty-type", retag("a_str", ""), ("a_str",), FAIL),
    ("str-as-str-comma", retag("a_str", "str,x"), ("a_str",), FAIL),
    ("digits-as-int", retag("a_digits", "int"), ("a_digits",), 5432),
    ("digits-as-float", retag("a_digits", "float"), ("a_digits",), 5432.0),
    ("digits-as-bool", retag("a_digits", "bool"), ("a_digits",), FAIL),
    ("huge-as-int", retag("a_huge", "int"), ("a_huge",), FAIL),  # out of int64
    ("huge-as-float", retag("a_huge", "float"), ("a_huge",), FAIL),  # 1e+20: MAC differs
    ("int-as-str", retag("a_int", "str"), ("a_int",), "5432"),
    ("int-as-float", retag("a_int", "float"), ("a_int",), 5432.0),
    ("int-as-bool", retag("a_int", "bool"), ("a_int",), FAIL),
    ("int-as-bytes", retag("a_int", "bytes"), ("a_int",), FAIL),
    ("int-as-comment", retag("a_int", "comment"), ("a_int",), FAIL),
    ("float-as-str", retag("a_float", "str"), ("a_float",), "1.5"),
    ("float-as-int", retag("a_float", "int"), ("a_float",), FAIL),
    ("float-as-bool", retag("a_float", "bool"), ("a_float",), FAIL),
    ("whole-as-int", retag("a_whole", "int"), ("a_whole",), 2),
    ("whole-as-str", retag("a_whole", "str"), ("a_whole",), "2"),
    ("bool-as-str", retag("a_bool", "str"), ("a_bool",), "True"),
    ("bool-as-int", retag("a_bool", "int"), ("a_bool",), FAIL),
    ("bool-as-float", retag("a_bool", "float"), ("a_bool",), FAIL),
    ("true-as-bool", retag("a_true", "bool"), ("a_true",), True),
    ("inf-as-float", retag("a_inf", "float"), ("a_inf",), math.inf),
    ("nan-as-float", retag("a_nan", "float"), ("a_nan",), math.nan),
    ("neg0-as-float", retag("a_neg0", "float"), ("a_neg0",), -0.0),
    ("neg0-as-int", retag("a_neg0", "int"), ("a_neg0",), FAIL),  # 0: MAC differs
    ("list-item-as-str", retag("a_list", "str"), ("a_list", 1), "1"),
    ("list-item-as-bool", retag("a_list", "bool"), ("a_list", 1), FAIL),
    ("empty-data", envelope("a_str", r"data:[^,]*,", "data:,"), ("a_str",), FAIL),
    ("no-type", envelope("a_str", r",type:str\]", "]"), ("a_str",), FAIL),
    ("space-in-type", envelope("a_str", r"type:str", "type:str "), ("a_str",), FAIL),
    ("flipped-data", envelope("a_str", r"data:(.)", "data:+"), ("a_str",), FAIL),
    ("bad-base64-iv", envelope("a_str", r"iv:", "iv:%"), ("a_str",), FAIL),
    ("lowercase-enc", envelope("a_str", r"ENC\[", "enc["), ("a_str",), FAIL),
    ("plaintext", envelope("a_str", r"ENC\[.*\]", "inserted-by-hand"), ("a_str",), FAIL),
    ("emptied", envelope("a_str", r"ENC\[.*\]", '""'), (), FAIL),  # MAC mismatch
    ("mac-as-int", envelope("mac", r"type:str", "type:int"), (), FAIL),
    ("mac-as-bytes", envelope("mac", r"type:str", "type:bytes"), (), FAIL),
]


def _same(ours: Any, theirs: Any) -> bool:
    """Equal values, of one type, except that a float sops writes without a fraction ("2")
    reads back as an int; NaN is NaN."""
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(map(_same, ours, theirs))
    if isinstance(ours, float) and type(theirs) in (int, float):
        return (math.isnan(ours) and math.isnan(theirs)) or ours == theirs
    return type(ours) is type(theirs) and ours == theirs


def _sops_decrypt(encrypted: Encrypted, text: str) -> tuple[int, Any]:
    path = encrypted.folder / "tampered.yaml"
    path.write_text(text)
    done = run_sops(["decrypt", path.name], cwd=encrypted.folder, key_file=encrypted.key_file)
    if done.returncode != 0:
        return done.returncode, None
    return 0, load_bytes("sops", done.stdout).data


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        data = data[step]
    return data


@pytest.mark.parametrize(
    ("edit", "field", "expect"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_qv_agrees_with_sops_on_a_tampered_value(
    encrypted: Encrypted, edit: Callable[[str], str], field: tuple[str | int, ...], expect: Any
) -> None:
    text = edit(encrypted.text)
    assert text != encrypted.text
    code, by_sops = _sops_decrypt(encrypted, text)
    label = "tampered.yaml"
    if expect is FAIL:
        assert code != 0, f"sops accepted it: {by_sops}"
        with pytest.raises(Tampered) as caught:
            decrypt_documents({label: text}, encrypted.key_file)
        message = str(caught.value)
        assert caught.value.exit_code == 1
        assert message.startswith(f"{label}: ")
        assert caught.value.field == field
        if field:
            assert f"{label}: {field[0]}" in message
        assert CANARY not in message
        assert HUGE not in message
        return
    assert code == 0
    ours = decrypt_documents({label: text}, encrypted.key_file)[label]
    assert _same(expect, _get(ours, field))
    assert _same(expect, _get(by_sops, field))
    assert ours.keys() == by_sops.keys()
    assert all(_same(ours[key], by_sops[key]) for key in ours)


def test_untampered_file_decrypts_like_sops(encrypted: Encrypted) -> None:
    code, by_sops = _sops_decrypt(encrypted, encrypted.text)
    assert code == 0
    ours = decrypt_documents({"f.yaml": encrypted.text}, encrypted.key_file)["f.yaml"]
    assert ours.keys() == by_sops.keys()
    assert all(_same(ours[k], by_sops[k]) for k in ours)
    assert not all(_same(by_sops[k], ours[k]) for k in ours)  # a_whole: sops wrote "2"


# --- the sops: block itself -----------------------------------------------------------------------


def meta(key: str, value: str | None) -> Callable[[str], str]:
    """Set ``key`` of the ``sops:`` block (and all it holds) to the YAML text ``value`` (None:
    remove the key), adding the key when the file has none."""

    def edit(text: str) -> str:
        line = re.search(rf"^    {key}:.*\n(?:     .*\n)*", text, re.M)  # with what it holds
        new = "" if value is None else f"    {key}: {value}".rstrip(" ") + "\n"
        if line is None:
            return text.replace("\n    version:", f"\n{new.rstrip(chr(10))}\n    version:", 1)
        return text[: line.start()] + new + text[line.end() :]

    return edit


def sops_is(value: str) -> Callable[[str], str]:
    """Replace the whole ``sops:`` block by ``sops: VALUE``."""
    return lambda text: text[: text.index("\nsops:") + 1] + f"sops: {value}".rstrip(" ") + "\n"


OK = "ok"  # sops -d accepts the file: qv decrypts it to what sops yields
# (id, edit, field qv names when sops refuses — () for the MAC — or OK). sops decodes the block
# into a typed struct (a list where it wants a string, a scalar where it wants a list of keys:
# refused), requires a Major.Minor.Patch version and an RFC 3339 lastmodified, allows one key
# selector, and compiles regexes with Go's RE2 (a pattern it cannot compile selects nothing, so
# the MAC fails).
META_ROWS: list[tuple[str, Callable[[str], str], Any]] = [
    ("version-removed", meta("version", None), ("sops", "version")),
    ("version-list", meta("version", "[1]"), ("sops", "version")),
    ("version-map", meta("version", "{a: 1}"), ("sops", "version")),
    ("version-empty", meta("version", "''"), ("sops", "version")),
    ("version-null", meta("version", ""), ("sops", "version")),
    ("version-int", meta("version", "3"), ("sops", "version")),
    ("version-two-parts", meta("version", "'3.11'"), ("sops", "version")),
    ("version-junk", meta("version", "hello"), ("sops", "version")),
    ("version-leading-zero", meta("version", "03.11.0"), ("sops", "version")),
    ("version-space", meta("version", "' 3.11.0'"), ("sops", "version")),
    ("version-old", meta("version", "1.0.0"), OK),
    ("version-v", meta("version", "v3.11.0"), OK),
    ("version-prerelease", meta("version", "3.11.0-rc.1+b.2"), OK),
    ("lastmodified-removed", meta("lastmodified", None), ("sops", "lastmodified")),
    ("lastmodified-junk", meta("lastmodified", "hello"), ("sops", "lastmodified")),
    ("lastmodified-list", meta("lastmodified", "[1]"), ("sops", "lastmodified")),
    (
        "lastmodified-space",
        meta("lastmodified", "'2024-01-02 03:04:05Z'"),
        ("sops", "lastmodified"),
    ),
    ("mac-list", meta("mac", "[1]"), ("sops", "mac")),
    ("mac-removed", meta("mac", None), ()),
    ("two-selectors", meta("unencrypted_suffix", "_unencrypted"), ("sops", "unencrypted_suffix")),
    ("two-regexes", meta("unencrypted_regex", "'^b'"), ("sops", "unencrypted_regex")),
    ("comment-regex-too", meta("encrypted_comment_regex", "x"), ("sops", "encrypted_regex")),
    ("empty-second-selector", meta("unencrypted_suffix", "''"), OK),
    ("kms-int", meta("kms", "5"), ("sops", "kms")),
    ("kms-string", meta("kms", "hello"), ("sops", "kms")),
    ("kms-map", meta("kms", "{a: 1}"), ("sops", "kms")),
    ("kms-item-int", meta("kms", "[5]"), ("sops", "kms", 0)),
    ("kms-empty", meta("kms", "[]"), OK),
    ("kms-null", meta("kms", ""), OK),
    ("pgp-int", meta("pgp", "5"), ("sops", "pgp")),
    ("hc-vault-int", meta("hc_vault", "5"), ("sops", "hc_vault")),
    ("key-groups-item-int", meta("key_groups", "[5]"), ("sops", "key_groups", 0)),
    ("age-item-int", meta("age", "[5]"), ("sops", "age", 0)),
    ("shamir-string", meta("shamir_threshold", "hello"), ("sops", "shamir_threshold")),
    ("shamir-quoted", meta("shamir_threshold", "'2'"), ("sops", "shamir_threshold")),
    ("shamir-bool", meta("shamir_threshold", "true"), ("sops", "shamir_threshold")),
    ("shamir-int", meta("shamir_threshold", "2"), OK),
    ("mac-only-string", meta("mac_only_encrypted", "hello"), ("sops", "mac_only_encrypted")),
    ("mac-only-quoted-true", meta("mac_only_encrypted", "'true'"), ("sops", "mac_only_encrypted")),
    ("mac-only-int", meta("mac_only_encrypted", "1"), ("sops", "mac_only_encrypted")),
    ("mac-only-yes", meta("mac_only_encrypted", "yes"), ()),  # YAML 1.1 true: the MAC differs
    ("mac-only-false", meta("mac_only_encrypted", "false"), OK),
    ("mac-only-off", meta("mac_only_encrypted", "off"), OK),
    ("unknown-key", meta("written_by", "hand"), OK),
    ("regex-list", meta("encrypted_regex", "[a]"), ("sops", "encrypted_regex")),
    ("regex-invalid", meta("encrypted_regex", "'(['"), ("sops", "encrypted_regex")),
    ("regex-lookahead", meta("encrypted_regex", "'^(?=a)a_'"), ("sops", "encrypted_regex")),
    ("regex-backreference", meta("encrypted_regex", r"'^(a)\1'"), ("sops", "encrypted_regex")),
    ("regex-catastrophic", meta("encrypted_regex", "'^(a|a)+$'"), ()),  # selects nothing
    ("regex-int", meta("encrypted_regex", "5"), ()),  # "5": selects nothing
    ("regex-removed", meta("encrypted_regex", None), ("keep",)),  # all but *_unencrypted
    ("sops-list", sops_is("[1, 2]"), ("sops",)),
    ("sops-string", sops_is("hello"), ("sops",)),
    ("sops-null", sops_is(""), ("sops",)),
    ("sops-empty", sops_is("{}"), ("sops", "lastmodified")),
]


@pytest.mark.parametrize(
    ("edit", "expect"), [r[1:] for r in META_ROWS], ids=[r[0] for r in META_ROWS]
)
def test_qv_agrees_with_sops_on_tampered_metadata(
    encrypted: Encrypted, edit: Callable[[str], str], expect: Any
) -> None:
    """qv refuses exactly the sops: blocks sops -d refuses, naming the field, never crashing."""
    text = edit(encrypted.text)
    assert text != encrypted.text
    code, by_sops = _sops_decrypt(encrypted, text)
    label = "meta.yaml"
    if expect == OK:
        assert code == 0
        ours = decrypt_documents({label: text}, encrypted.key_file)[label]
        assert ours.keys() == by_sops.keys()
        assert all(_same(ours[key], by_sops[key]) for key in ours)
        return
    assert code != 0, f"sops accepted it: {by_sops}"
    with pytest.raises(Tampered) as caught:
        decrypt_documents({label: text}, encrypted.key_file)
    message = str(caught.value)
    assert caught.value.exit_code == 1
    assert caught.value.field == expect
    assert message.startswith(f"{label}: ")
    assert CANARY not in message


# --- the age stanza that wraps the data key -------------------------------------------------------


def _armor(text: str) -> list[str]:
    return re.findall(r"^ {12}(.+)$", text, re.M)


def _with_armor(text: str, lines: list[str]) -> str:
    old = "".join(f"{' ' * 12}{line}\n" for line in _armor(text))
    return text.replace(old, "".join(f"{' ' * 12}{line}\n" for line in lines))


def _flip(line: str, at: int) -> str:
    return line[:at] + ("A" if line[at] != "A" else "B") + line[at + 1 :]


@dataclass(frozen=True)
class Others:
    """The same plaintext encrypted to another key, and again to ours (another data key)."""

    other_key_file: str
    same_key_file: str
    other_recipient: str


@pytest.fixture(scope="module")
def others(encrypted: Encrypted) -> Others:
    other = generate_identity().recipient
    ours = _recipient(encrypted.text)
    return Others(_encrypt(encrypted.folder, other), _encrypt(encrypted.folder, ours), other)


def _recipient(text: str) -> str:
    found = re.search(r"recipient: (age1\w+)", text)
    assert found is not None
    return found.group(1)


def _stanza(text: str) -> str:
    found = re.search(r"^ {8}- recipient: .*\n {10}enc: \|\n(?: {12}.*\n)+", text, re.M)
    assert found is not None
    return found.group(0)


def _enc(text: str) -> str:
    return _stanza(text).split("enc: |\n", 1)[1]


def _stanza_rows(text: str, others: Others) -> dict[str, tuple[str, str]]:
    """name -> (tampered text, what sops and qv do: "ok", "tampered" or "no key")."""
    lines, stanza = _armor(text), _stanza(text)
    ours = _recipient(text)
    return {
        "armor-without-begin": (_with_armor(text, lines[1:]), "tampered"),
        "armor-truncated": (_with_armor(text, [*lines[:2], lines[-1]]), "tampered"),
        "armor-line-dropped": (_with_armor(text, [*lines[:2], *lines[3:]]), "tampered"),
        "header-byte-flipped": (
            _with_armor(text, [lines[0], _flip(lines[1], 10), *lines[2:]]),
            "tampered",
        ),
        "payload-byte-flipped": (
            _with_armor(text, [*lines[:-2], _flip(lines[-2], 0), lines[-1]]),
            "tampered",
        ),
        "enc-emptied": (
            text.replace(stanza, stanza.split("enc: |\n")[0] + 'enc: ""\n'),
            "tampered",
        ),
        "enc-of-another-key": (text.replace(_enc(text), _enc(others.other_key_file)), "tampered"),
        "enc-of-another-file": (text.replace(stanza, _stanza(others.same_key_file)), "tampered"),
        "recipient-renamed": (
            text.replace(f"recipient: {ours}", f"recipient: {others.other_recipient}"),
            "ok",
        ),
        "second-stanza-broken": (
            text.replace(stanza, stanza + stanza.replace(lines[1], lines[1][:-4] + "AAAA")),
            "ok",
        ),
        "only-another-key": (others.other_key_file, "no key"),
        "no-stanza": (text.replace(stanza, "").replace("    age:\n", "    age: []\n"), "no key"),
    }


STANZA_ROWS = [
    "armor-without-begin",
    "armor-truncated",
    "armor-line-dropped",
    "header-byte-flipped",
    "payload-byte-flipped",
    "enc-emptied",
    "enc-of-another-key",
    "enc-of-another-file",
    "recipient-renamed",
    "second-stanza-broken",
    "only-another-key",
    "no-stanza",
]


@pytest.mark.parametrize("name", STANZA_ROWS)
def test_qv_agrees_with_sops_on_a_tampered_stanza(
    encrypted: Encrypted, others: Others, name: str
) -> None:
    text, expect = _stanza_rows(encrypted.text, others)[name]
    assert text != encrypted.text
    code, by_sops = _sops_decrypt(encrypted, text)
    label = "stanza.yaml"
    if expect == "ok":
        assert code == 0
        ours = decrypt_documents({label: text}, encrypted.key_file)[label]
        assert all(_same(ours[k], by_sops[k]) for k in ours)
        return
    assert code != 0
    with pytest.raises(QvError) as caught:
        decrypt_documents({label: text}, encrypted.key_file)
    message = str(caught.value)
    assert message.startswith(f"{label}: ")
    assert CANARY not in message
    assert "AGE-SECRET-KEY" not in message
    if expect == "no key":
        assert type(caught.value) is OperationalError
        assert caught.value.exit_code == 3
        if name == "only-another-key":
            assert others.other_recipient in message  # the key to look for, named
    else:
        assert isinstance(caught.value, Tampered)
        assert caught.value.exit_code == 1
        assert "altered outside sops" in message
