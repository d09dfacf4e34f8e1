"""The default SQLite store (``sqlite:.qv/state.db``) is never reached through a link under
``.qv/``, like the caches there: a repository can commit ``.qv``, ``.qv/state.db`` or the
``-wal`` file beside it as a link, and qv would create or write a store wherever it points.
Such a store is refused (exit 3, naming the link); a path given explicitly is the user's."""

from __future__ import annotations

from pathlib import Path

import pytest

import qv_config.cli.sync  # noqa: F401 - registers the command on the app
from qv_config.cli.__main__ import main


def qv(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(root), *args])
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out + out.err


@pytest.mark.parametrize(
    ("link", "target"),
    [(".qv", "folder"), (".qv/state.db", "planted.db"), (".qv/state.db-wal", "planted-wal")],
)
def test_a_store_reached_through_a_link_under_qv_is_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], link: str, target: str
) -> None:
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(outside / target)
    code, out = qv(project, capsys, "sync", "--env", "dev", "--store", "sqlite:.qv/state.db")
    assert code == 3, out
    assert f"{link} is a symbolic link" in out
    assert [p.name for p in outside.rglob("*")] == ["folder"]  # nothing made out there


def test_a_store_path_given_elsewhere_may_be_a_link(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stores").mkdir()
    (tmp_path / "link.db").symlink_to(tmp_path / "stores" / "real.db")
    code, out = qv(project, capsys, "sync", "--env", "dev", "--store", f"sqlite:{tmp_path}/link.db")
    assert code == 0, out
    assert (tmp_path / "stores" / "real.db").is_file()
