"""`qv init` end to end: into an empty directory, refusal without --force, overwrite with it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from qv_config.cli.__main__ import main
from qv_config.errors import UsageError
from qv_config.scaffold import starter_files, write_starter
from qv_config.scaffold.devkey import DEV_CONFIG

QV = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "qv"


def _qv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QV), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_init_into_empty_dir_writes_every_file_and_says_what_next(tmp_path: Path) -> None:
    proc = _qv("init", "repo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    dest = tmp_path / "repo"
    for rel, content in starter_files().items():
        if rel == DEV_CONFIG:  # its API key added and encrypted, the rest as written
            assert (dest / rel).read_bytes().startswith(content)
        else:
            assert (dest / rel).read_bytes() == content
        assert rel in proc.stdout
    assert "qv validate" in proc.stdout
    assert "qv sync --env dev --key-file keys/dev.agekey" in proc.stdout


def test_init_defaults_to_the_current_directory(tmp_path: Path) -> None:
    proc = _qv("init", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "qv.yaml").is_file()
    assert "cd " not in proc.stdout  # already there: the next commands need no cd


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "qv.yaml").write_text("mine\n")
    proc = _qv("init", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "qv.yaml already exists" in proc.stderr
    assert "--force" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Refused whole: nothing written, the user's file untouched.
    assert (tmp_path / "qv.yaml").read_text() == "mine\n"
    assert not (tmp_path / "environments").exists()


def test_init_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "qv.yaml").write_text("mine\n")
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(tmp_path), "init", "--force"])
    assert stop.value.code == 0
    assert (tmp_path / "qv.yaml").read_bytes() == starter_files()["qv.yaml"]


def test_init_into_a_file_is_a_usage_error(tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    proc = _qv("init", str(target), cwd=tmp_path)
    assert proc.returncode == 2
    assert "not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_write_starter_returns_the_written_paths(tmp_path: Path) -> None:
    written = write_starter(tmp_path / "a" / "b")
    assert [p.relative_to(tmp_path / "a" / "b").as_posix() for p in written] == list(
        starter_files()
    )
    with pytest.raises(UsageError, match="already exists and"):
        write_starter(tmp_path / "a" / "b")
