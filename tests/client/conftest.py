"""Client test helpers: states written to real stores through the store API (as `qv sync`
writes them: values, _meta with the real digest, audit, change event, one transaction)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from qv_config.render.desired import digest
from qv_config.store import DesiredState, apply_desired, open_store

ENV = "dev"


def canonical(doc: Mapping[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def config(name: str, **spec: Any) -> tuple[str, bytes]:
    doc = {"apiVersion": "qv/v1", "kind": "Config", "metadata": {"name": name}, "spec": spec}
    return f"{ENV}/config/{name}", canonical(doc)


def flag(name: str, **spec: Any) -> tuple[str, bytes]:
    body = {"type": "release", "enabled": True, "strategies": [{"name": "default"}], **spec}
    doc = {"apiVersion": "qv/v1", "kind": "Flag", "metadata": {"name": name}, "spec": body}
    return f"{ENV}/flag/{name}", canonical(doc)


def flag_doc(raw: bytes) -> Any:
    return orjson.loads(raw)


def configs(tag: str, n: int) -> dict[str, bytes]:
    """``n`` Config documents that all say ``tag``: a reader can tell two states apart."""
    return dict(config(f"svc-{i:03d}", rev=tag, i=i) for i in range(n))


class Writer:
    """Applies states to one store, as `qv sync` does (revisions r1, r2, ... in order)."""

    def __init__(self, url: str, root: Path) -> None:
        self.url, self.root, self.n = url, root, 0

    def apply(self, values: dict[str, bytes], *, bad_digest: bool = False) -> str:
        self.n += 1
        revision = f"{self.n:040x}"
        real = digest(values)
        state = DesiredState(ENV, revision, "0" * 64 if bad_digest else real, values)
        store = open_store(self.url, self.root)
        try:
            apply_desired(
                store, state, is_descendant=lambda _a, _b: True, applied_by="test@example.com"
            )
        finally:
            store.close()
        return revision


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def writer(store_url: str, tmp_path: Path) -> Writer:
    return Writer(store_url, tmp_path)


@pytest.fixture
def client_log(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    caplog.set_level(logging.INFO, logger="qv_config.client")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "qv_config.client"]


@pytest.fixture
def h() -> SimpleNamespace:
    return SimpleNamespace(
        config=config,
        flag=flag,
        flag_doc=flag_doc,
        configs=configs,
        wait_for=wait_for,
        Writer=Writer,
        ENV=ENV,
    )
