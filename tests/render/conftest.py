"""Fixtures of the render tests: real configuration trees in tmp dirs, real git repositories."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from tests.inprocess import QvRun, run_qv

from qv_config.repo import Snapshot, WorkTreeSource, load_snapshot

QV_YAML = """\
apiVersion: qv/v1
kind: Project
metadata: {name: quantivista}
spec:
  environments: [dev, prod]
  bases: [strategies]
"""

TREE: dict[str, str] = {
    "qv.yaml": QV_YAML,
    "templates/strategy/base.yaml": """\
        apiVersion: qv/v1
        kind: Strategy
        metadata:
          owner: team-alpha
        spec:
          activation: inactive
          limits:
            max_order_notional: 100000
            order_rate: 10/1s
          allocation:
            current_stage: paper
            stages:
              - {name: paper, capital: 0}
              - {name: full, capital: 1000}
        """,
    "templates/strategy/equity.yaml": """\
        extends: [strategy/base]
        spec:
          universe: {asset_class: equity, venues: [XLON, XETR]}
          limits:
            max_order_notional: 250000
        """,
    "strategies/momentum-eu.yaml": """\
        apiVersion: qv/v1
        kind: Strategy
        metadata:
          name: momentum-eu
        extends: [strategy/equity]
        spec:
          version: 1.4.2
          region: "{{ env.vars.region }}"
          capital_share: "{{ env.vars.capital * 0.1 }}"
          limits:
            max_order_notional: 500000
        """,
    "environments/dev/environment.yaml": """\
        apiVersion: qv/v1
        kind: Environment
        metadata: {name: dev}
        spec:
          tier: dev
          vars: {region: eu-dev-1, capital: 1000}
        """,
    "environments/prod/environment.yaml": """\
        apiVersion: qv/v1
        kind: Environment
        metadata: {name: prod}
        spec:
          tier: prod
          vars: {region: eu-west-1, capital: 250000000}
        """,
    "environments/prod/strategies/momentum-eu.yaml": """\
        spec:
          activation: active
          limits:
            max_order_notional: 750000
        """,
    "environments/prod/flags/kill-momentum-eu.yaml": """\
        apiVersion: qv/v1
        kind: Flag
        metadata: {name: kill-momentum-eu}
        spec: {type: kill-switch, enabled: false}
        """,
}


def write_tree(root: Path, files: dict[str, str | None]) -> Path:
    """Write (dedented) files under root; a None value removes the file."""
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Callable[..., Path]:
    """tree(extra) writes the standard tree plus/minus ``extra`` into a fresh directory."""

    def build(extra: dict[str, str | None] | None = None, base: bool = True) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        files: dict[str, str | None] = dict(TREE) if base else {"qv.yaml": QV_YAML}
        files.update(extra or {})
        return write_tree(root, files)

    return build


class Git:
    """A real git repository driven through the git command line."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def init(self) -> Git:
        self("init", "-q", "-b", "main")
        self("config", "user.name", "Test")
        self("config", "user.email", "test@example.com")
        self("config", "commit.gpgsign", "false")
        return self

    def commit(self, message: str) -> str:
        self("add", "-A")
        self("commit", "-q", "-m", message)
        return self("rev-parse", "HEAD")


@pytest.fixture
def snap() -> Callable[[Path], Snapshot]:
    return lambda root: load_snapshot(WorkTreeSource(root))


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Callable[..., QvRun]:
    """qv(root, *args): run the real CLI in-process with -C root; returns exit code and output."""
    return partial(run_qv, capsys)


@pytest.fixture
def git_repo() -> Callable[[Path], Git]:
    """git_repo(root) turns root into a git repository (user.name/email set)."""
    return lambda root: Git(root).init()
