"""One door to GitHub: ``forge/`` is the only module that speaks HTTP to it."""

from __future__ import annotations

import re
from pathlib import Path

import qv_config

PACKAGE = Path(qv_config.__file__).resolve().parent
_HTTP = re.compile(
    r"^\s*(import httpx|from httpx\b|import urllib\.request|from urllib\.request\b|"
    r"import http\.client|from http\.client\b|import requests\b)",
    re.M,
)
_GITHUB = re.compile(r"github", re.I)


def test_only_forge_speaks_http_to_github() -> None:
    offenders = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "forge"
        and _HTTP.search(text := path.read_text(encoding="utf-8"))
        and _GITHUB.search(text)
    ]
    assert offenders == [], "call GitHub through qv_config.forge: " + ", ".join(offenders)


def test_the_check_sees_what_it_forbids() -> None:
    assert _HTTP.search("    import httpx\n")
    assert _HTTP.search("from urllib.request import urlopen")
    assert not _HTTP.search("from qv_config.forge import GitHub")
