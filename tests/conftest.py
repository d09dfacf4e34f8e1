"""Fixtures shared by every test folder: the real servers of tests/servers.py (redis-server,
etcd) on free loopback ports. Under CI=true a missing server fails the test instead of skipping.

tests/servers.py is loaded by path: --import-mode=importlib puts no test folder on sys.path, and
putting tests/ there would shadow stdlib modules (``secrets``) with test folders.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_servers() -> object:
    """tests/servers.py by path: --import-mode=importlib puts no test folder on sys.path (and
    adding tests/ would shadow stdlib modules such as ``secrets`` with test folders)."""
    name = "qv_test_servers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).resolve().parent / "servers.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_servers = _load_servers()
Server = _servers.Server  # type: ignore[attr-defined]
etcd_server = _servers.etcd_server  # type: ignore[attr-defined]
free_port = _servers.free_port  # type: ignore[attr-defined]
fresh_server = _servers.fresh_server  # type: ignore[attr-defined]
make_etcd = _servers.make_etcd  # type: ignore[attr-defined]
make_redis = _servers.make_redis  # type: ignore[attr-defined]
need_binary = _servers.need_binary  # type: ignore[attr-defined]
redis_server = _servers.redis_server  # type: ignore[attr-defined]
store_url = _servers.store_url  # type: ignore[attr-defined]
tls_certs = _servers.tls_certs  # type: ignore[attr-defined]
redis_tls_server = _servers.redis_tls_server  # type: ignore[attr-defined]
etcd_tls_server = _servers.etcd_tls_server  # type: ignore[attr-defined]

__all__ = [
    "Server",
    "etcd_server",
    "free_port",
    "fresh_server",
    "make_etcd",
    "make_redis",
    "need_binary",
    "redis_server",
    "store_url",
]

_FORGE_ENV = (
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_REF",
    "QV_GITHUB_API_URL",
    "QV_PULL_REQUEST",
)


@pytest.fixture(autouse=True)
def _no_forge_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI job's GITHUB_TOKEN never reaches the tests: a policy listing ``github`` would make
    ``qv approvals`` and the agent's gate call the real GitHub. Tests set their own."""
    for name in _FORGE_ENV:
        monkeypatch.delenv(name, raising=False)
