"""Every command over a committed state whose secret's sops ``type:`` tag was edited (SPEC §8).

A Git repository holding this project's tree, dev's order-management database password set to a
known canary (C0). Each case edits that value's ``type:str`` tag (C1) and runs every command that
opens secrets with the key at hand: each reports tampering (exit 1, QV603) naming the file and
the field, and no output, log line or audit entry holds the plaintext.

Sops ciphertext that sops will not decrypt (a file whose sops: block is gone, or a key its rules
leave plain) is QV606: validate, sync and the agent refuse it, nothing reaches the store.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from qv_config.secrets import decrypt_file, encrypt_file, verify_mac
from tests.diff.secretrepo import DOC, git, init_repo, retag_password, set_password
from tests.inprocess import QvRun, run_qv
from tests.qvbin import QV

CANARY = "tamper-canary-Vq8-db-password"
FIELD = "spec.database.password"


@dataclass(frozen=True)
class Repo:
    root: Path
    key: Path
    base: str  # C0: the untampered state


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("tamper") / "repo"
    key = init_repo(root)
    set_password(root / DOC, key, CANARY)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a known secret")
    return Repo(root, key, git(root, "rev-parse", "HEAD"))


@pytest.fixture
def qv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, repo: Repo
) -> Callable[..., QvRun]:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(repo.key))
    monkeypatch.setenv("NO_COLOR", "1")
    return partial(run_qv, capsys, repo.root)


@contextmanager
def _committed(repo: Repo, edit: Callable[[], None], message: str) -> Iterator[str]:
    """A commit made by ``edit`` on top of C0; back to C0 afterwards."""
    edit()
    git(repo.root, "add", "-A")
    git(repo.root, "commit", "-q", "-m", message)
    try:
        yield git(repo.root, "rev-parse", "HEAD")
    finally:
        git(repo.root, "reset", "-q", "--hard", repo.base)


def _clean(ran: QvRun) -> str:
    text = ran.out + ran.err
    assert CANARY not in text
    assert "Traceback" not in text
    assert "internal error" not in text
    return text


def _agent_once(repo: Repo, store: str) -> QvRun:
    """One agent cycle in its own process: the agent installs signal handlers, which forked
    workers of later tests in this process would inherit."""
    argv = [QV, "agent", "--env", "dev", "--source", str(repo.root), "--once", "--store", store]
    done = subprocess.run(argv, cwd=repo.root, capture_output=True, text=True, check=False)
    return QvRun(done.returncode, done.stdout, done.stderr)


def _rows(url: str, table: str) -> list[str]:
    with sqlite3.connect(url.removeprefix("sqlite:")) as db:
        return [str(row) for row in db.execute(f"SELECT * FROM {table}")]


TAGS = ["int", "float", "bool", "bytes", "comment", "xyz", ""]


@pytest.mark.parametrize("tag", TAGS)
def test_every_command_reports_the_tampered_field_never_its_value(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path, tag: str
) -> None:
    with _committed(repo, partial(retag_password, repo.root / DOC, tag), f"tag {tag!r}"):
        checks = [
            ("validate",),
            ("validate", "--format", "json"),
            ("validate", "--format", "github"),
            ("validate", "--format", "sarif"),
        ]
        for args in checks:
            ran = qv(*args)
            text = _clean(ran)
            assert ran.code == 1, (args, text)
            assert "QV603" in text
            assert FIELD in text
            assert DOC in text
        for args in [
            ("diff", f"dev@{repo.base}", "dev"),
            ("review", "--base", repo.base),
            ("render", "--env", "dev", "--decrypt"),
            ("diff", f"dev@{repo.base}", "dev", "--decrypt"),
            ("secrets", "decrypt", str(repo.root / DOC)),
        ]:
            ran = qv(*args)
            text = _clean(ran)
            assert ran.code == 1, (args, text)
            assert DOC in text
            assert FIELD in text
            # diff and review refuse an invalid side first: without a type, the value is not
            # sops ciphertext at all (sops says so too), so validation calls it QV601
            assert "altered outside sops" in text or (tag == "" and "QV601" in text)
        store = f"sqlite:{tmp_path / 'state.db'}"
        ran = qv("sync", "--env", "dev", "--store", store)
        assert ran.code == 1
        assert "QV603" in _clean(ran)
        ran = _agent_once(repo, store)
        assert ran.code == 1
        assert '"refused"' in _clean(ran)
        audit = _rows(store, "audit")
        assert audit
        assert all("refused" in row for row in audit)
        assert not any(CANARY in row for row in audit)
        assert not any(CANARY in row for row in _rows(store, "kv"))


def test_the_untampered_state_deploys_its_secret(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path
) -> None:
    store = f"sqlite:{tmp_path / 'state.db'}"
    assert qv("validate").code == 0
    assert qv("sync", "--env", "dev", "--store", store).code == 0
    assert any(CANARY in row for row in _rows(store, "kv"))  # the store holds plaintext
    assert not any(CANARY in row for row in _rows(store, "audit"))


RISK = "environments/dev/configs/risk-service.yaml"


def _refused_everywhere(
    repo: Repo, qv: Callable[..., QvRun], store: str, where: str, code: str = "QV606"
) -> None:
    """validate, sync and the agent all stop at ``code`` ``where``; nothing is deployed."""
    ran = qv("validate")
    assert ran.code == 1
    assert f"{code}  {where}" in ran.out
    ran = qv("sync", "--env", "dev", "--store", store)
    assert ran.code == 1
    assert code in ran.err
    ran = _agent_once(repo, store)
    assert ran.code == 1
    assert all("refused" in row for row in _rows(store, "audit"))
    assert not any("ENC[" in row for row in _rows(store, "kv"))


def test_ciphertext_in_a_file_without_sops_block_is_never_deployed(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path
) -> None:
    path = repo.root / RISK

    def strip() -> None:
        text = path.read_text()
        path.write_text(text[: text.index("\nsops:") + 1])

    with _committed(repo, strip, "the sops block lost"):
        _refused_everywhere(repo, qv, f"sqlite:{tmp_path / 'state.db'}", FIELD)
        shown = qv("render", "--env", "dev", "config/risk-service", "--decrypt")
        assert shown.code == 0  # shown as what it is: text, not a secret
        assert "password: ENC[AES256_GCM," in shown.out


def test_ciphertext_at_a_key_sops_does_not_encrypt_is_never_deployed(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path
) -> None:
    """With mac_only_encrypted the MAC covers encrypted values only: ciphertext pasted at a key
    the rules leave plain keeps the MAC valid, and sops -d returns it as it is."""
    path, config = repo.root / DOC, repo.root / ".sops.yaml"

    def paste() -> None:
        decrypt_file(path, repo.key, in_place=True)
        rule = "  - path_regex: ^environments/dev/.*\\.ya?ml$\n"
        if "mac_only_encrypted: true" not in config.read_text():  # this repository's rules have it
            config.write_text(
                config.read_text().replace(rule, f"{rule}    mac_only_encrypted: true\n")
            )
        encrypt_file(path)
        text = path.read_text()
        value = re.search(r"password: (ENC\[.*\])", text)
        assert value is not None
        path.write_text(text.replace("    user: oms\n", f"    user: {value.group(1)}\n", 1))

    with _committed(repo, paste, "ciphertext where sops does not look"):
        assert verify_mac(path, repo.key)  # sops' MAC is fine
        _refused_everywhere(repo, qv, f"sqlite:{tmp_path / 'state.db'}", "spec.database.user")


def test_ciphertext_a_template_builds_in_an_encrypted_file_is_never_deployed(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path
) -> None:
    """sops decrypts the values a file holds as written: ciphertext that a Jinja expression
    assembles at a plain key (anyone may make that edit under mac_only_encrypted) is text."""
    path = repo.root / DOC

    def assemble() -> None:
        text = path.read_text()
        value = re.search(r"password: (ENC\[AES256_GCM,)(.*\])", text)
        assert value is not None
        built = f'\'{{{{ "{value.group(1)}" ~ "{value.group(2)}" }}}}\''
        path.write_text(text.replace("    user: oms\n", f"    user: {built}\n", 1))

    with _committed(repo, assemble, "ciphertext a template builds"):
        _refused_everywhere(repo, qv, f"sqlite:{tmp_path / 'state.db'}", "spec.database.user")


@pytest.mark.parametrize("value", ["[1, 2]", "hello", ""])
def test_a_sops_key_that_is_not_sops_metadata_is_never_deployed(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path, value: str
) -> None:
    """sops -d refuses such a file; read as plain it would deploy its ENC[…] text (and the list
    a top-level `sops` key)."""
    path = repo.root / DOC

    def replace() -> None:
        text = path.read_text()
        path.write_text(text[: text.index("\nsops:") + 1] + f"sops: {value}".rstrip() + "\n")

    with _committed(repo, replace, f"sops: {value!r}"):
        store = f"sqlite:{tmp_path / 'state.db'}"
        _refused_everywhere(repo, qv, store, "sops does not verify", code="QV603")
        assert not any('"sops"' in row for row in _rows(store, "kv"))
        shown = qv("render", "--env", "dev", "config/order-management", "--decrypt")
        assert shown.code == 1
        assert f"{DOC}: sops: it is" in _clean(shown)


def test_metadata_sops_refuses_is_a_located_finding_without_a_key(
    repo: Repo, qv: Callable[..., QvRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encrypted_regex Go's RE2 cannot compile: QV603 at its line, not an internal error."""
    path = repo.root / DOC

    def edit() -> None:
        text = path.read_text()
        path.write_text(
            re.sub(r"^  encrypted_regex: .*$", "  encrypted_regex: '(['", text, flags=re.M)
        )

    with _committed(repo, edit, "a regex sops cannot compile"):
        line = path.read_text().splitlines().index("  encrypted_regex: '(['") + 1
        for key in (True, False):
            if not key:
                monkeypatch.delenv("SOPS_AGE_KEY_FILE")
            ran = qv("validate")
            assert ran.code == 1
            assert f"{line}:3  error    QV603  sops.encrypted_regex does not verify" in _clean(ran)
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(repo.key))
        ran = qv("render", "--env", "dev", "config/order-management", "--decrypt")
        assert ran.code == 1
        assert "sops.encrypted_regex: it is not a regex sops (RE2) can compile" in _clean(ran)
