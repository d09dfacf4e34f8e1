"""The age key file, from ``--key-file`` or ``SOPS_AGE_KEY_FILE``: a regular file of at most
1 MiB, else a usage error (exit 2) saying what the path is. Never read unbounded."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.diff.secretrepo import init_repo
from tests.inprocess import QvRun, run_qv
from tests.qvbin import QV

RENDER = ("render", "--env", "dev", "config/order-management", "--decrypt")
SYNC = ("sync", "--env", "dev", "--store", "sqlite:{tmp}/state.db")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("keyfile") / "repo"
    init_repo(root)
    return root


@pytest.fixture
def qv(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, root: Path
) -> Callable[..., QvRun]:
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-qv-test")
    return partial(run_qv, capsys, root)


def _large(tmp_path: Path) -> Path:
    path = tmp_path / "large.agekey"
    path.write_bytes(b"#" * (2 << 20))
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: tmp / "missing.agekey", "no such file"),
        (lambda tmp: Path("/dev/null"), "a character device, not an age key file"),
        (lambda tmp: tmp, "a directory, not an age key file"),
        (_large, "larger than 1 MiB"),
    ],
    ids=["missing", "dev-null", "directory", "over-1-MiB"],
)
@pytest.mark.parametrize(
    "command", [RENDER, ("validate",), SYNC], ids=["render", "validate", "sync"]
)
def test_a_bad_key_file_flag_is_exit_2_saying_what_it_is(
    qv: Callable[..., QvRun],
    tmp_path: Path,
    make: Callable[[Path], Path],
    words: str,
    command: tuple[str, ...],
) -> None:
    path = make(tmp_path)
    args = [arg.format(tmp=tmp_path) for arg in command]
    ran = qv(*args, "--key-file", str(path))
    assert ran.code == 2, ran.err
    assert f"--key-file {path}: {words}" in ran.err


@pytest.mark.parametrize("command", [RENDER, ("validate",)], ids=["render", "validate"])
def test_a_bad_key_file_variable_is_exit_2_naming_it(
    qv: Callable[..., QvRun],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: tuple[str, ...],
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path))
    ran = qv(*command)
    assert ran.code == 2, ran.err
    assert f"SOPS_AGE_KEY_FILE {tmp_path}: a directory, not an age key file" in ran.err


def test_an_endless_key_file_is_never_read_whole(root: Path) -> None:
    """``/dev/zero`` as the key file: refused at once, not read until memory runs out."""
    env = {k: v for k, v in os.environ.items() if k != "SOPS_AGE_KEY"}
    env.update(SOPS_AGE_KEY_FILE="/dev/zero", XDG_CONFIG_HOME="/nonexistent-qv-test")
    # 2 GB of address space: reading /dev/zero whole passes it within seconds
    limited = f'ulimit -v 2000000; exec "$0" -C {shlex.quote(str(root))} {shlex.join(RENDER)}'
    done = subprocess.run(
        ["sh", "-c", limited, QV], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "SOPS_AGE_KEY_FILE /dev/zero: a character device, not an age key file" in done.stderr
    assert "internal error" not in done.stderr
