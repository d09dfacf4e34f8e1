"""The error boundary (cli/app.py): what an error prints is escaped and bounded, and an
unexpected exception shows its type and where it was raised, never its text (which can hold a
document's value or a decrypted secret) unless ``-v`` asks for the traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import qv_config.repo
from qv_config.cli.__main__ import main
from qv_config.safetext import NAME
from tests.inprocess import run_qv
from tests.output.hostile import (
    FILE_NAMES,
    assert_inert_text,
    commit,
    longest_run,
    starter_repo,
)

SECRET = "hunter2-plaintext-of-a-secret"


def test_an_error_naming_hostile_files_is_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``qv sync`` refuses an invalid state with a CheckFailed that names the files."""
    root = starter_repo(tmp_path / "config")
    for text in FILE_NAMES.values():
        (root / "environments/dev/flags" / f"{text}.yaml").write_text("kind: Nope\n")
    commit(root, "Hostile file names")
    done = run_qv(capsys, root, "sync", "--env", "dev")
    assert done.code == 1
    assert "validation error(s), nothing was applied" in done.err
    assert_inert_text(done.err)


def test_an_error_quoting_a_huge_argument_is_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = starter_repo(tmp_path / "config")
    done = run_qv(capsys, root, "diff", "Ж" * 10_000 + "\x1b[2J", "prod")
    assert done.code == 2
    assert "unknown environment" in done.err
    assert longest_run(done.err, "Ж") <= NAME  # an error names whole paths up to NAME
    assert_inert_text(done.err)


def _leak(*_args: object, **_kwargs: object) -> Path:
    raise ValueError(f"could not convert {SECRET!r} to int")


def test_an_internal_error_shows_its_type_and_place_not_its_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = starter_repo(tmp_path / "config")
    monkeypatch.setattr(qv_config.repo, "find_root", _leak)  # a bug, in qv's own code path
    done = run_qv(capsys, root, "validate")
    assert done.code == 3
    assert SECRET not in done.err
    assert re.fullmatch(
        r"qv: internal error: ValueError at qv_config\.cli\.validating:\d+ \(run again with -v for"
        r" the traceback and report it\)\n",
        done.err,
    ), done.err


def test_verbose_shows_the_traceback_with_the_same_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = starter_repo(tmp_path / "config")
    monkeypatch.setattr(qv_config.repo, "find_root", _leak)
    with pytest.raises(SystemExit) as stop:
        main(["-v", "-C", str(root), "validate"])
    err = capsys.readouterr().err
    assert stop.value.code == 3  # as without -v (was 1: the exception escaped the boundary)
    assert err.startswith("Traceback (most recent call last):")
    assert SECRET in err  # asked for by -v


def test_a_usage_error_escapes_what_was_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = starter_repo(tmp_path / "config")
    done = run_qv(capsys, root, "validate", "--bogus\x1b[2J\u202e")
    assert done.code == 2
    assert "No such option '--bogus\\x1b[2J\\u202e'" in done.err
    assert_inert_text(done.err)
