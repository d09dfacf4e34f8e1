"""Nothing under ``.qv/`` is written or read through a link, and no cache file that is not a
regular file is opened for reading (``cache.local``, ``cache.pack``). A repository can commit
anything under ``.qv/`` (``git add -f``): a fresh clone has its links, and a link there must
never make qv write outside the repository or block on a FIFO; caches are off instead."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.qvbin import QV
from tests.starter import committed_starter

from qv_config.cache import pack
from qv_config.cache.key import user_key
from qv_config.cache.pack import sealer

RECORDS = {"alpha": b"first record", "beta": b"second"}


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a blocking open of a FIFO waits for a writer forever)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    before = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


def qv(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    env.pop("QV_STORE", None)
    done = subprocess.run(
        [QV, "-C", str(root), *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.mark.parametrize("where", [".qv", ".qv/cache", ".qv/cache/render", ".qv/.gitignore"])
def test_a_link_under_qv_turns_the_caches_off(tmp_path: Path, where: str) -> None:
    root, outside = tmp_path / "proj", tmp_path / "outside"
    outside.mkdir()
    (root / where).parent.mkdir(parents=True)
    (root / where).symlink_to(outside / "target")  # dangling: qv would make what it names
    assert sealer(root, "render/a.qvc") is None
    assert not pack.write(root / ".qv" / "cache" / "render" / "a.qvc", None, RECORDS)
    assert list(outside.iterdir()) == []


def test_folders_and_gitignore_are_never_made_through_a_link(tmp_path: Path) -> None:
    """Even past the sealer's look (a link made meanwhile), ``ensure_folder`` follows none."""
    root, outside = tmp_path / "proj", tmp_path / "outside"
    outside.mkdir()
    (root / ".qv").mkdir(parents=True)
    (root / ".qv" / "cache").symlink_to(outside, target_is_directory=True)
    with pytest.raises(NotADirectoryError, match="not a real folder"):
        pack.ensure_folder(root / ".qv" / "cache" / "render")
    (root / ".qv" / "cache").unlink()
    (root / ".qv" / ".gitignore").symlink_to(outside / "planted")
    pack.ensure_folder(root / ".qv" / "cache" / "render")
    assert (root / ".qv" / "cache" / "render").is_dir()
    assert list(outside.iterdir()) == []
    (root / ".qv" / ".gitignore").unlink()
    pack.ensure_folder(root / ".qv" / "cache")
    assert (root / ".qv" / ".gitignore").read_text().endswith("*\n")


def test_a_cache_file_that_is_a_fifo_or_a_link_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / ".qv" / "cache" / "x.qvc"
    assert pack.write(path, sealer(tmp_path, "x.qvc"), RECORDS)
    real = tmp_path / "real.qvc"
    path.rename(real)
    path.symlink_to(real)  # this project's own records, but through a link: not read
    assert sealer(tmp_path, "x.qvc") is None
    key = user_key()
    assert key is not None
    seal = pack.Sealer(key, tmp_path, "x.qvc")  # as the sealer would be without the link
    assert pack.Pack.open(real, seal).get("alpha") == RECORDS["alpha"]
    with deadline(10):
        assert pack.Pack.open(path, seal).get("alpha") is None
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        path.unlink()
        path.symlink_to(fifo)
        assert pack.Pack.open(path, seal).get("alpha") is None
        path.unlink()
        os.mkfifo(path)  # a FIFO itself (made locally: Git cannot hold one)
        assert pack.Pack.open(path, seal).get("alpha") is None
        assert pack.read_one(path, sealer(tmp_path, "x.qvc"), "alpha") is None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return committed_starter(tmp_path / "proj")


def test_a_committed_gitignore_link_is_not_written_through(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / ".qv").mkdir(exist_ok=True)
    (project / ".qv" / ".gitignore").symlink_to(outside / "planted-by-repo")
    git(project, "add", "-f", ".qv/.gitignore")
    git(project, "commit", "-qm", "an innocent-looking link")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    assert (clone / ".qv" / ".gitignore").is_symlink()
    for args in (("validate",), ("validate",), ("render", "--env", "dev")):
        assert qv(clone, tmp_path / "home", *args).returncode == 0
    assert list(outside.iterdir()) == []


def test_a_committed_cache_link_to_a_fifo_does_not_hang(project: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (project / ".qv" / "cache").mkdir(parents=True, exist_ok=True)
    for name in ("tree.qvc", "parse.qvc", "validate.qvc"):
        (project / ".qv" / "cache" / name).symlink_to(tmp_path / "fifo")
    done = qv(project, tmp_path / "home", "validate")  # (times out after 120 s on failure)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fifo").is_fifo()
