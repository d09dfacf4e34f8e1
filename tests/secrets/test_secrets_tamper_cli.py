"""Every command over a committed state whose secret's sops ``type:`` tag was edited (SPEC §8).

A Git repository holding this project's tree, dev's order-management database password set to a
known canary (C0). Each case edits that value's ``type:str`` tag (C1) and runs every command that
opens secrets with the key at hand: each reports tampering (exit 1, QV603) naming the file and
the field, and no output, log line or audit entry holds the plaintext.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.diff.secretrepo import DOC, git, init_repo, set_password
from tests.inprocess import QvRun, run_qv

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


def _retag(repo: Repo, tag: str) -> Iterator[str]:
    """Commit C1: the canary's ``type:`` tag set to ``tag``; back to C0 afterwards."""
    path = repo.root / DOC
    text = path.read_text()
    line = next(m for m in re.finditer(r"^ +password: ENC\[.*$", text, re.M))
    edited = re.sub(r"type:[^\]]*\]", f"type:{tag}]", line.group(0))
    path.write_text(text[: line.start()] + edited + text[line.end() :])
    git(repo.root, "commit", "-q", "-am", f"type tag edited to {tag!r}")
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


def _rows(url: str, table: str) -> list[str]:
    with sqlite3.connect(url.removeprefix("sqlite:")) as db:
        return [str(row) for row in db.execute(f"SELECT * FROM {table}")]


TAGS = ["int", "float", "bool", "bytes", "comment", "xyz", ""]


@pytest.mark.parametrize("tag", TAGS)
def test_every_command_reports_the_tampered_field_never_its_value(
    repo: Repo, qv: Callable[..., QvRun], tmp_path: Path, tag: str
) -> None:
    for _rev in _retag(repo, tag):
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
        ran = qv("agent", "--env", "dev", "--source", str(repo.root), "--once", "--store", store)
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
