"""Every qv command over a Git repository holding a known secret: the plaintext never leaks.

The repository is a copy of this project's own configuration tree in which dev's
order-management database password is set to a known value (first commit) and changed to a
second known value (second commit), both SOPS-encrypted to the demo dev key. Each command runs
end to end as a subprocess; its stdout, stderr (log lines included), the store's audit entries,
``_meta`` (what SQLite readers poll as the change event), the lease table and every cache file
under ``.qv/`` must not hold either plaintext — except where `--decrypt` / `qv secrets decrypt`
asks for it. The store's configuration values are the one place plaintext belongs (SPEC §8).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MAIN = Path(__file__).resolve().parents[2]
QV = str(Path(os.environ.get("QV_VENV", MAIN / ".venv")) / "bin" / "qv")
FIRST = "leak-canary-FIRST-7c1e"
SECOND = "leak-canary-SECOND-9d2f"
DOC = "environments/dev/configs/order-management.yaml"
COPY = ("qv.yaml", ".sops.yaml", "schemas", "templates", "strategies", "environments", "keys")


@dataclass(frozen=True)
class Ran:
    args: tuple[str, ...]
    code: int
    text: str  # stdout + stderr


@dataclass(frozen=True)
class Repo:
    root: Path
    key: Path
    store: str

    def qv(self, *args: str, key: bool = False) -> Ran:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "QV_"))}
        env.update(NO_COLOR="1", XDG_CONFIG_HOME=str(self.root.parent / "xdg"))
        if key:
            env["SOPS_AGE_KEY_FILE"] = str(self.key)
        done = subprocess.run(
            [QV, *args],
            check=False,
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Ran(args, done.returncode, done.stdout + done.stderr)

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()


def _set_secret(repo: Repo, value: str) -> None:
    path = repo.root / DOC
    ran = repo.qv("secrets", "decrypt", "-i", DOC, key=True)
    assert ran.code == 0, ran.text
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("password:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}password: {value}\n"
    path.write_text("".join(lines))
    ran = repo.qv("secrets", "encrypt", DOC)
    assert ran.code == 0, ran.text
    assert value not in path.read_text()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    root = tmp_path_factory.mktemp("leak") / "repo"
    root.mkdir()
    for name in COPY:
        source = MAIN / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    made = Repo(root, root / "keys" / "demo-dev.agekey", f"sqlite:{root.parent / 'state.db'}")
    made.git("init", "-q", "-b", "main")
    made.git("config", "user.name", "Leak Test")
    made.git("config", "user.email", "leak@example.com")
    (root / ".gitignore").write_text(".qv/\n")
    _set_secret(made, FIRST)
    made.git("add", "-A")
    made.git("commit", "-q", "-m", "first secret")
    _set_secret(made, SECOND)
    made.git("commit", "-q", "-am", "rotate the oms database password")
    return made


def _assert_clean(ran: Ran) -> None:
    for canary in (FIRST, SECOND):
        assert canary not in ran.text, f"qv {' '.join(ran.args)} printed a secret"


def _commands(repo: Repo) -> list[tuple[tuple[str, ...], bool]]:
    first = repo.git("rev-parse", "HEAD~1")
    store = ("--store", repo.store)
    plain: list[tuple[str, ...]] = [
        ("validate",),
        *(("validate", "--format", f) for f in ("text", "json", "github", "sarif")),
        ("render", "--env", "dev"),
        ("render", "--env", "dev", "--format", "json"),
        ("render", "--env", "dev", "--rev", "HEAD~1"),
        ("render", "--env", "dev", "--explain", "config/order-management:spec.database.password"),
        ("diff", "dev@HEAD~1", "dev"),
        ("diff", "dev@HEAD~1", "dev", "--format", "markdown"),
        ("diff", "dev@HEAD~1", "dev", "--format", "json"),
        ("diff", "dev", "staging", "--all"),
        ("review", "--base", "HEAD~1"),
        ("review", "--base", "HEAD~1", "--format", "json"),
        ("log", "--env", "dev"),
        ("log", "--env", "dev", "--format", "json"),
    ]
    keyed: list[tuple[str, ...]] = [
        ("validate", "--format", "json"),  # with the key: MACs verified, still no value
        ("sync", "--env", "dev", "--rev", first, *store),
        ("sync", "--env", "dev", *store, "--format", "json"),
        ("sync", "--env", "dev", *store, "--dry-run"),
        ("drift", "--env", "dev", *store),
        ("drift", "--env", "dev", *store, "--format", "json"),
        ("history", "--env", "dev", *store),
        ("history", "--env", "dev", *store, "--format", "json"),
        ("rollback", "--env", "dev", "--to", first, "--reason", "leak test", *store),
        ("secrets", "rotate", DOC),
        ("render", "--env", "dev", "config/risk-service", "--decrypt"),  # another file's value
    ]
    return [(args, False) for args in plain] + [(args, True) for args in keyed]


def _agent_commands(repo: Repo) -> list[tuple[str, ...]]:
    if repo.qv("agent", "--help").code != 0:
        return []  # `qv agent` is not registered yet
    return [
        ("agent", "--env", "dev", "--source", str(repo.root), "--once", "--store", repo.store),
    ]


def _store_rows(repo: Repo) -> list[str]:
    """Everything in the store except configuration values: audit, _meta (events), leases."""
    path = repo.store.removeprefix("sqlite:")
    with sqlite3.connect(path) as db:
        rows = [str(r) for r in db.execute("SELECT env, entry FROM audit")]
        rows += [str(r) for r in db.execute("SELECT * FROM lease")]
        rows += [str(r) for r in db.execute("SELECT key, value FROM kv WHERE key LIKE '%/_meta'")]
        values = [str(r[0]) for r in db.execute("SELECT value FROM kv")]
    assert rows, "the store has no audit entries: sync did not run"
    assert any(FIRST in v or SECOND in v for v in values), "sync did not decrypt into the store"
    return rows


def test_no_command_prints_a_secret_unless_asked(repo: Repo) -> None:
    results = []
    for args, key in _commands(repo):
        ran = repo.qv(*args, key=key)
        results.append(ran)
        _assert_clean(ran)
    for args in _agent_commands(repo):
        _assert_clean(repo.qv(*args, key=True))
    failed = [(r.args, r.code, r.text[-300:]) for r in results if r.code not in (0, 1)]
    assert not failed, failed  # every command really ran (1: differences/drift reported)
    for row in _store_rows(repo):
        assert not any(canary in row for canary in (FIRST, SECOND)), row
    for file in (repo.root / ".qv").rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert not any(canary.encode() in data for canary in (FIRST, SECOND)), file


def test_asked_for_by_name_shows_it(repo: Repo) -> None:
    shown = repo.qv("secrets", "decrypt", DOC, key=True)
    assert shown.code == 0
    assert SECOND in shown.text
    rendered = repo.qv("render", "--env", "dev", "config/order-management", "--decrypt", key=True)
    assert rendered.code == 0
    assert SECOND in rendered.text
    without = repo.qv("render", "--env", "dev", "config/order-management", "--decrypt")
    assert without.code == 3
    assert "age1j2sca60r2ch252gr56d2gmejvxm3cv4p0537fcdkh6test6u859st3qfnq" in without.text
    _assert_clean(without)


def test_sync_without_key_exits_3_naming_the_recipient(repo: Repo) -> None:
    ran = repo.qv("sync", "--env", "dev", "--store", repo.store + ".nokey")
    assert ran.code == 3, ran.text
    assert "age1j2sca60r2ch252gr56d2gmejvxm3cv4p0537fcdkh6test6u859st3qfnq" in ran.text
    assert "Traceback" not in ran.text
