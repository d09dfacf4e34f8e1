"""``qv sync``, ``qv drift``, ``qv history`` and ``qv rollback`` when the store and the audit log
hold hostile strings: keys written behind qv's back, an applier's e-mail, a rollback reason."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.inprocess import run_qv
from tests.output.hostile import (
    HOSTILE,
    assert_inert_text,
    commit,
    git,
    starter_repo,
)

CONFIG = "environments/dev/configs/example-service.yaml"
# git config takes any value but a newline; whoami() records it as the applier.
EVIL_EMAIL = "\x1b[31meve\u202e@evil [bold red]styled[/bold red] ::error::x ##[error]y"
REASON = " | ".join(HOSTILE.values())
# Keys written behind qv's back (a text report lists 20 of them), "/" and all: every key under
# the environment's prefix that qv did not write is unexpected, whatever its shape.
KEYS = [
    HOSTILE[name]
    for name in (
        "ansi_sgr", "ansi_osc8", "cr_overwrite", "c1_csi", "bidi_override", "zero_width",
        "line_separators", "tag_chars", "newline_command", "github_command", "github_legacy",
        "rich_markup", "rich_link", "rich_emoji", "html_details",
    )
]  # fmt: skip


@pytest.fixture
def deployed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """Two revisions applied to the SQLite store by a hostile applier, then a rollback with a
    hostile reason, then keys with hostile names written to the store outside qv."""
    root = starter_repo(tmp_path / "config")
    git(root, "config", "user.email", EVIL_EMAIL)
    first = git(root, "rev-parse", "HEAD")
    assert run_qv(capsys, root, "sync", "--env", "dev").code == 0
    path = root / CONFIG
    path.write_text(path.read_text().replace("max_order_notional: 100000", "max_order_notional: 9"))
    commit(root, "Lower the notional")
    assert run_qv(capsys, root, "sync", "--env", "dev").code == 0
    done = run_qv(capsys, root, "rollback", "--env", "dev", "--to", first, "--reason", REASON)
    assert done.code == 0, done.err
    assert_inert_text(done.out)
    with sqlite3.connect(root / ".qv/state.db") as db:
        for text in KEYS:
            db.execute("insert into kv values (?, '{}')", (f"qv/dev/flag/{text}",))
    return root, first


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_drift_lists_hostile_keys_inert(
    deployed: tuple[Path, str], capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    root, _ = deployed
    done = run_qv(capsys, root, "drift", "--env", "dev", "--format", fmt)
    assert done.code == 1  # out-of-band keys: drift
    assert_inert_text(done.out)
    assert_inert_text(done.err)
    if fmt == "json":
        unexpected = json.loads(done.out)["out_of_band"]["unexpected"]
        assert {f"dev/flag/{text}" for text in KEYS} == set(unexpected)
    else:
        assert "dev/flag/[bold red]styled[/bold red]" in done.out  # markup shown, not applied
        assert "dev/flag/[link=https://evil.example]click[/link]" in done.out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_history_shows_hostile_applier_and_reason_inert(
    deployed: tuple[Path, str], capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    root, _ = deployed
    done = run_qv(capsys, root, "history", "--env", "dev", "--format", fmt)
    assert done.code == 0, done.err
    assert_inert_text(done.out)
    if fmt == "json":
        rollback = json.loads(done.out)[0]
        assert rollback["action"] == "rollback"
        assert rollback["by"] == EVIL_EMAIL  # exact data
        assert rollback["reason"] == REASON
    else:
        assert "by \\x1b[31meve\\u202e@evil [bold red]styled[/bold red]" in done.out
        assert "reason: \\x1b[31mRED\\x1b[0m | " in done.out  # clipped: MESSAGE characters
