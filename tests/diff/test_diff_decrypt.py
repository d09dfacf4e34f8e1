"""``--decrypt`` of ``qv diff``, ``qv review`` and ``qv log``: changed secrets in plaintext.

The history of ``secretrepo.build_history`` (real Git, real sops, the demo dev key): C0 the
project, C1 dev's oms file rotated (same values), C2 its database password changed OLD -> NEW.
With --decrypt a changed secret shows ``OLD → NEW``; a re-encryption is still no change; without
a usable key the command exits 3 naming the file's recipient; nothing plaintext reaches ``.qv/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.diff.secretrepo import BROKER, DB, DOC, NEW, OLD, PLAINTEXTS, History, plaintext_files

from qv_config.diff.compute import diff_documents
from qv_config.diff.reporters import markdown, text, to_data
from qv_config.diff.secretdiff import NO_KEY_TO_COMPARE, SECRET_CHANGED, SecretQuery, Shown
from qv_config.secrets import generate_identity, key_file_text, recipients_of

SHOWN = f'{DB}: "{OLD}" → "{NEW}" (decrypted)'
Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def qv_env(qv: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, history: History) -> Invoke:
    """``qv ARGS`` in the history repo: the dev key in SOPS_AGE_KEY_FILE when ``key``."""
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(history.root.parent / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str, key: bool = True) -> tuple[int, str, str]:
        if key:
            monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(history.key))
        else:
            monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
        done = qv(history.root, *args)
        assert "Traceback" not in done.out + done.err
        assert not any(p in done.err for p in PLAINTEXTS), "a message holds a secret"
        return done.code, done.out, done.err

    return invoke


def _sides(history: History, a: int, b: int) -> tuple[str, str]:
    return f"dev@{history.shas[a]}", f"dev@{history.shas[b]}"


def _dev_recipient(history: History) -> str:
    (recipient,) = recipients_of(history.root / DOC)
    return recipient


# ---------------------------------------------------------------- qv diff


def test_diff_decrypt_text_shows_old_and_new(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("diff", *_sides(history, 1, 2), "--decrypt")
    assert code == 0
    assert SHOWN in out
    assert BROKER not in out  # re-encrypted, same value: not a change, not shown
    assert "broker.password" not in out


def test_diff_decrypt_markdown(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("diff", *_sides(history, 1, 2), "--decrypt", "--format", "markdown")
    assert code == 0
    assert f'| `{DB}` | `"{OLD}" → "{NEW}" (decrypted)` |' in out


def test_diff_decrypt_json(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("diff", *_sides(history, 0, 2), "--decrypt", "--format", "json")
    assert code == 0
    (change,) = json.loads(out)["changes"]
    assert change["fields"] == [
        {
            "path": DB,
            "op": "changed",
            "old": OLD,
            "new": NEW,
            "risk": None,
            "secret": True,
            "note": SECRET_CHANGED,
        }
    ]


def test_diff_decrypt_re_encryption_is_still_no_change(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("diff", *_sides(history, 0, 1), "--decrypt", "--exit-code")
    assert code == 0
    assert "no differences" in out


def test_diff_key_file_option(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env(
        "diff", *_sides(history, 1, 2), "--decrypt", "--key-file", str(history.key), key=False
    )
    assert (code, SHOWN in out) == (0, True)


def test_without_decrypt_nothing_changes(qv_env: Invoke, history: History) -> None:
    for key in (True, False):
        for fmt in ("text", "markdown", "json"):
            code, out, _ = qv_env("diff", *_sides(history, 1, 2), "--format", fmt, key=key)
            assert code == 0
            assert not any(p in out for p in PLAINTEXTS)
            assert (SECRET_CHANGED if key else NO_KEY_TO_COMPARE) in out


# ---------------------------------------------------------------- qv review, qv log


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_review_decrypt(qv_env: Invoke, history: History, fmt: str) -> None:
    code, out, _ = qv_env("review", "--base", history.shas[0], "--decrypt", "--format", fmt)
    assert code == 0
    assert f'"{OLD}" → "{NEW}" (decrypted)' in out
    assert BROKER not in out


def test_review_decrypt_json(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("review", "--base", history.shas[0], "--decrypt", "--format", "json")
    assert code == 0
    envs = json.loads(out)["environments"]
    (field,) = envs["dev"]["changes"][0]["fields"]
    assert (field["old"], field["new"], field["note"]) == (OLD, NEW, SECRET_CHANGED)
    assert envs["staging"]["changes"] == envs["prod"]["changes"] == []


def test_log_decrypt_text(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("log", "--env", "dev", "--decrypt")
    assert code == 0
    assert "new oms database password" in out
    assert SHOWN in out
    assert "rotate the oms data key" not in out  # a re-encryption is no change


def test_log_decrypt_json(qv_env: Invoke, history: History) -> None:
    code, out, _ = qv_env("log", "--env", "dev", "-n", "1", "--decrypt", "--format", "json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["commit"] == history.shas[2]
    (field,) = entry["diff"]["changes"][0]["fields"]
    assert (field["path"], field["old"], field["new"]) == (DB, OLD, NEW)


# ---------------------------------------------------------------- errors


COMMANDS = {
    "diff": ("diff", "dev@HEAD~1", "dev"),
    "review": ("review", "--base", "HEAD~1"),
    "log": ("log", "--env", "dev"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_decrypt_without_a_key_names_the_recipient(
    qv_env: Invoke, history: History, command: str
) -> None:
    code, out, err = qv_env(*COMMANDS[command], "--decrypt", key=False)
    assert code == 3
    assert _dev_recipient(history) in err
    assert "no key to decrypt" in err
    assert not any(p in out for p in PLAINTEXTS)


def test_decrypt_with_another_key_names_the_recipient(
    qv_env: Invoke, history: History, tmp_path: Path
) -> None:
    other = tmp_path / "other.agekey"
    other.write_text(key_file_text(generate_identity()))
    code, _, err = qv_env(*COMMANDS["diff"], "--decrypt", "--key-file", str(other), key=False)
    assert code == 3
    assert _dev_recipient(history) in err
    assert "--key-file" in err


def test_decrypt_across_environments_needs_their_keys(qv_env: Invoke) -> None:
    code, _, err = qv_env("diff", "dev", "staging", "--all", "--decrypt")
    assert code == 3
    assert "environments/staging/" in err  # staging's key is not in the repository
    assert "no key to decrypt" in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_key_file_without_decrypt_is_a_usage_error(
    qv_env: Invoke, history: History, command: str
) -> None:
    code, _, err = qv_env(*COMMANDS[command], "--key-file", str(history.key))
    assert code == 2
    assert "--key-file is used only with --decrypt" in err


def test_decrypt_with_a_missing_key_file(qv_env: Invoke, history: History) -> None:
    missing = history.root / "no-such.agekey"
    code, _, err = qv_env(*COMMANDS["log"], "--decrypt", "--key-file", str(missing), key=False)
    assert code == 2  # a usage error, as for every command (docs/secrets.md)
    assert f"age key file {missing}: no such file" in err


def test_no_plaintext_under_qv_after_decrypt_runs(qv_env: Invoke, history: History) -> None:
    for args in (
        ("diff", *_sides(history, 0, 2), "--decrypt", "--format", "json"),
        ("diff", "dev@HEAD~2", "dev", "--decrypt"),
        ("review", "--base", history.shas[0], "--decrypt"),
        ("log", "--env", "dev", "--decrypt"),
    ):
        code, out, _ = qv_env(*args)
        assert (code, NEW in out) == (0, True)
    assert list((history.root / ".qv").rglob("*.qvc"))  # the caches were written…
    assert plaintext_files(history.root) == []  # …and hold no plaintext


# ---------------------------------------------------------------- in memory

CT_A = "ENC[AES256_GCM,data:AAAA,iv:aaaa,tag:t1,type:str]"
CT_B = "ENC[AES256_GCM,data:BBBB,iv:bbbb,tag:t2,type:str]"


def _secret_marks(doc: object, path: tuple[object, ...]) -> tuple[None, bool]:
    return None, path[-1] == "password"


def test_a_shown_secret_reaches_every_reporter() -> None:
    def reveal(queries: Sequence[SecretQuery]) -> list[Shown]:
        return [Shown("a-old", "a-new") for _ in queries]

    result = diff_documents(
        {"config/a": {"kind": "Config", "spec": {"password": CT_A}}},
        {"config/a": {"kind": "Config", "spec": {"password": CT_B}}},
        marks=_secret_marks,
        secret=reveal,
    )
    (field,) = result.changes[0].fields
    assert (field.old, field.new, field.revealed, field.note) == (
        "a-old",
        "a-new",
        True,
        SECRET_CHANGED,
    )
    assert 'spec.password: "a-old" → "a-new" (decrypted)' in text(result)
    assert '| `spec.password` | `"a-old" → "a-new" (decrypted)` |' in markdown(result)
    data: Any = to_data(result)
    assert data["changes"][0]["fields"][0]["old"] == "a-old"
    assert "a-old" not in repr(Shown("a-old", "a-new"))
