"""The shortcuts of checking one document agree with the general path on every case tree.

Rendering keeps each document's canonical JSON (``RenderedDoc.json``); checking reads it to
skip the QV606 walk of a document that holds no ciphertext. A copy of the document without it
(``dataclasses.replace``) takes the general path: both give the same findings and facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from qv_config.render import render_environment
from qv_config.repo import Snapshot, WorkTreeSource, load_snapshot
from qv_config.validate.engine import RunState, check_document
from qv_config.validate.schema import SchemaStore

CASES = Path(__file__).parent / "cases"
NAMES = sorted(path.name for path in CASES.iterdir() if (path / "qv.yaml").is_file())


@pytest.mark.parametrize("name", NAMES)
def test_shortcuts_agree_with_the_general_path(name: str) -> None:
    snapshot = load_snapshot(WorkTreeSource(CASES / name), use_cache=False)
    for env in snapshot.env_names:
        checked = 0
        for doc in render_environment(snapshot, env).docs.values():
            assert doc.json is not None
            general = replace(doc)
            assert general.json is None
            fast, slow = (_run(snapshot), _run(snapshot))
            assert check_document(doc, fast) == check_document(general, slow), doc.key
            checked += 1
        assert checked or not snapshot.environments[env].documents


def _run(snapshot: Snapshot) -> RunState:
    run = RunState(SchemaStore(snapshot.read), today=date(2026, 12, 7))
    run.encrypted = frozenset(snapshot.encrypted)
    return run


def test_the_case_of_a_stray_ciphertext_is_checked() -> None:
    """The tree of QV606 renders documents whose JSON holds ciphertext, and the check finds it."""
    source = WorkTreeSource(CASES / "qv606-ciphertext-without-sops")
    snapshot = load_snapshot(source, use_cache=False)
    found = []
    for env in snapshot.env_names:
        for doc in render_environment(snapshot, env).docs.values():
            found += [f.code for f in check_document(doc, _run(snapshot))[0]]
    assert "QV606" in found
