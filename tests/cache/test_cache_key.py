"""The per-user cache key (``cache.key``) is trusted only when nobody else can know it: a
regular file, not a link, of this user, mode 0600 (no group or other bits), outside the project
and the Git work tree holding it. Anything else turns the caches off (never an error, never
replaced); a relative XDG_CACHE_HOME is ignored (the XDG spec)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from tests.qvbin import QV
from tests.sealing import machine
from tests.starter import committed_starter

from qv_config.cache import pack
from qv_config.cache.key import key_path, user_key
from qv_config.cache.pack import sealer

KNOWN = bytes(32)  # a key someone else knows (planted, committed, world-readable)


def plant(home: Path, mode: int) -> Path:
    key = home / "qv" / "cache-key"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_bytes(KNOWN)
    key.chmod(mode)
    return key


def test_a_new_key_is_made_private(tmp_path: Path) -> None:
    with machine(tmp_path / "home"):
        made = user_key(tmp_path / "proj")
    key = tmp_path / "home" / "qv" / "cache-key"
    assert made is not None
    assert made == key.read_bytes()
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o602])
def test_a_key_others_may_read_or_write_is_not_used(tmp_path: Path, mode: int) -> None:
    key = plant(tmp_path / "home", mode)
    with machine(tmp_path / "home"):
        assert user_key() is None
        assert sealer(tmp_path / "proj", "x.qvc") is None
    assert key.read_bytes() == KNOWN  # not replaced: deleting it gives a new one
    assert key.stat().st_mode & 0o777 == mode


def test_a_key_that_is_a_link_is_not_used(tmp_path: Path) -> None:
    target = plant(tmp_path / "elsewhere", 0o600)  # private, this user's: still through a link
    link = tmp_path / "home" / "qv" / "cache-key"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    with machine(tmp_path / "home"):
        assert user_key() is None
    assert link.is_symlink()
    fifo = tmp_path / "home-2" / "qv" / "cache-key"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo, 0o600)  # not a regular file (and opening it does not block)
    with machine(tmp_path / "home-2"):
        assert user_key() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_key_of_another_user_is_not_used(tmp_path: Path) -> None:
    key = plant(tmp_path / "home", 0o600)
    os.chown(key, os.geteuid() + 4242, -1)
    with machine(tmp_path / "home"):
        assert user_key() is None


@pytest.mark.parametrize("where", ["", "config"], ids=["project root", "project in a subfolder"])
def test_a_key_inside_the_checkout_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """HOME=<workspace> (some CI images): ``~/.cache/qv/cache-key`` is a file the repository
    can commit, even one 0600 (a checkout under umask 077)."""
    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    root = checkout / where
    plant(checkout / ".cache", 0o600)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(checkout))
    assert key_path() == checkout / ".cache" / "qv" / "cache-key"
    assert user_key(root) is None
    assert sealer(root, "x.qvc") is None
    assert user_key(tmp_path / "another-project") == KNOWN  # a project outside: the key is fine


def test_a_relative_xdg_cache_home_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert key_path() == tmp_path / "home" / ".cache" / "qv" / "cache-key"
    assert user_key(tmp_path / "proj") is not None
    assert not (tmp_path / "relative").exists()


# ------------------------------------------------------------- a forged record, end to end


def forge(root: Path, key: bytes, path: str, old: str, new: str) -> None:
    """Make ``path`` invalid, and seal (with ``key``) a parsed value that says it is not."""
    from qv_config.cache.parse import encode
    from qv_config.yamlio import load_bytes

    file = root / path
    good = file.read_bytes()
    bad = good.replace(old.encode(), new.encode())
    file.write_bytes(bad)
    value = encode(load_bytes(path, good).data)
    assert value is not None
    digest = hashlib.blake2b(bad, digest_size=20).hexdigest()
    records = {digest: value}
    assert pack.write(root / ".qv/cache/parse.qvc", pack.Sealer(key, root, "parse.qvc"), records)


def qv(root: Path, env: dict[str, str], *args: str) -> int:
    done = subprocess.run(
        [QV, "-C", str(root), *args], check=False, env=env, capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


@pytest.mark.parametrize("planted", ["world-writable, through a link", "committed, 0600"])
def test_a_record_sealed_with_a_known_key_decides_nothing(tmp_path: Path, planted: str) -> None:
    root = committed_starter(tmp_path / "proj")
    env = {k: v for k, v in os.environ.items() if k not in ("QV_STORE", "XDG_CACHE_HOME")}
    if planted == "committed, 0600":  # HOME=<workspace>: the repository brings the key
        env["HOME"] = str(root)
        plant(root / ".cache", 0o600)
    else:  # a shared XDG_CACHE_HOME where another user planted a link to their key
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
        (tmp_path / "xdg" / "qv").mkdir(parents=True)
        (tmp_path / "xdg" / "qv" / "cache-key").symlink_to(plant(tmp_path / "them", 0o666))
    policy = "environments/dev/risk-policies/example-standard.yaml"
    forge(root, KNOWN, policy, "max_gross_exposure: 2000000", "max_gross_exposure: -2000000")
    assert qv(root, env, "validate", "--no-cache") == 1
    assert qv(root, env, "validate") == 1
