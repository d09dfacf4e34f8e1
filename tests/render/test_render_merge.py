"""Merge rules (SPEC §3.3) on real trees: deep maps, replaced scalars/lists, name-keyed lists,
null deletes, !replace, and no mutation of the cached loaded documents."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qv_config.render import render_environment
from qv_config.repo import Snapshot

TEMPLATE = """\
apiVersion: qv/v1
kind: Strategy
metadata: {owner: team-alpha, labels: {asset_class: equity, desk: eu}}
spec:
  limits: {max_order_notional: 100, order_rate: 10/1s}
  universe: {venues: [XLON, XETR]}
  allocation:
    current_stage: paper
    stages:
      - {name: paper, capital: 0, note: first}
      - {name: canary, capital: 10}
  rules:
    - {name: a, x: 1}
    - {name: b, x: 2}
  tags: [one, two]
  extra: {keep: 1}
"""


def _render(
    tree: Callable[..., Path],
    snap: Callable[[Path], Snapshot],
    base: str,
    overlay: str | None = None,
) -> dict[str, Any]:
    files: dict[str, str | None] = {"templates/t.yaml": TEMPLATE, "strategies/s.yaml": base}
    if overlay is not None:
        files["environments/prod/strategies/s.yaml"] = overlay
    snapshot = snap(tree(files))
    rendered = render_environment(snapshot, "prod")
    assert rendered.findings == ()
    return dict(rendered.docs["prod/strategy/s"].data)


BASE = """\
metadata: {name: s}
extends: [t]
"""


def test_mappings_merge_deeply_and_scalars_replace(tree: Any, snap: Any) -> None:
    data = _render(tree, snap, BASE + "spec:\n  limits: {max_order_notional: 500}\n")
    assert data["spec"]["limits"] == {"max_order_notional": 500, "order_rate": "10/1s"}
    assert data["metadata"] == {
        "owner": "team-alpha",
        "name": "s",
        "labels": {"asset_class": "equity", "desk": "eu"},
    }
    assert "extends" not in data


def test_plain_lists_are_replaced_whole(tree: Any, snap: Any) -> None:
    data = _render(tree, snap, BASE + "spec:\n  universe: {venues: [XPAR]}\n  tags: [three]\n")
    assert data["spec"]["universe"]["venues"] == ["XPAR"]
    assert data["spec"]["tags"] == ["three"]


def test_name_keyed_lists_merge_by_name_keeping_order(tree: Any, snap: Any) -> None:
    base = (
        BASE
        + """\
spec:
  allocation:
    stages:
      - {name: full, capital: 100}
      - {name: paper, capital: 1}
"""
    )
    data = _render(tree, snap, base)
    assert data["spec"]["allocation"]["stages"] == [
        {"name": "paper", "capital": 1, "note": "first"},
        {"name": "canary", "capital": 10},
        {"name": "full", "capital": 100},
    ]
    assert data["spec"]["allocation"]["current_stage"] == "paper"


def test_list_not_all_named_replaces(tree: Any, snap: Any) -> None:
    data = _render(tree, snap, BASE + "spec:\n  rules:\n    - {name: c}\n    - {x: 9}\n")
    assert data["spec"]["rules"] == [{"name": "c"}, {"x": 9}]


def test_null_deletes_key_in_base_and_in_overlay(tree: Any, snap: Any) -> None:
    data = _render(
        tree,
        snap,
        BASE + "spec:\n  extra: null\n  limits: {order_rate: null}\n",
        "metadata:\n  labels: {desk: null}\n",
    )
    assert "extra" not in data["spec"]
    assert data["spec"]["limits"] == {"max_order_notional": 100}
    assert data["metadata"]["labels"] == {"asset_class": "equity"}


def test_replace_tag_replaces_mapping_and_named_list(tree: Any, snap: Any) -> None:
    base = (
        BASE
        + """\
spec:
  limits: !replace {max_order_notional: 7}
  rules: !replace
    - {name: z, x: 0}
"""
    )
    data = _render(tree, snap, base)
    assert data["spec"]["limits"] == {"max_order_notional": 7}
    assert type(data["spec"]["limits"]) is dict  # plain dict in the result
    assert data["spec"]["rules"] == [{"name": "z", "x": 0}]
    assert type(data["spec"]["rules"]) is list


def test_overlay_applies_last(tree: Any, snap: Any) -> None:
    overlay = (
        "spec:\n  limits: {max_order_notional: 900}\n  allocation:\n    stages:\n"
        "      - {name: canary, capital: 20}\n"
    )
    data = _render(tree, snap, BASE + "spec:\n  limits: {max_order_notional: 500}\n", overlay)
    assert data["spec"]["limits"]["max_order_notional"] == 900
    assert data["spec"]["allocation"]["stages"][1] == {"name": "canary", "capital": 20}


def test_dev_has_no_overlay(tree: Any, snap: Any) -> None:
    files = {
        "templates/t.yaml": TEMPLATE,
        "strategies/s.yaml": BASE,
        "environments/prod/strategies/s.yaml": "spec: {limits: {max_order_notional: 1}}\n",
    }
    snapshot = snap(tree(files))
    dev = render_environment(snapshot, "dev").docs["dev/strategy/s"]
    assert dev.data["spec"]["limits"]["max_order_notional"] == 100
    assert [layer.role for layer in dev.layers] == ["template", "base"]


def test_rendering_never_mutates_loaded_documents(tree: Any, snap: Any) -> None:
    files = {
        "templates/t.yaml": TEMPLATE,
        "strategies/s.yaml": BASE + "spec:\n  extra: null\n  limits: !replace {a: 1}\n",
        "environments/prod/strategies/s.yaml": "spec: {rules: [{name: a, x: 5}]}\n",
    }
    snapshot = snap(tree(files))
    before = {path: copy.deepcopy(doc.data) for path, doc in _all_docs(snapshot).items()}
    for env in ("prod", "dev", "prod"):
        render_environment(snapshot, env)
    after = {path: doc.data for path, doc in _all_docs(snapshot).items()}
    assert after == before


def _all_docs(snapshot: Snapshot) -> dict[str, Any]:
    docs: dict[str, Any] = {**snapshot.bases}
    docs.update({f"templates/{name}": doc for name, doc in snapshot.templates.items()})
    for files in snapshot.environments.values():
        docs.update(files.documents)
        docs.update({f"overlay:{p}": d for p, d in files.overlays.items()})
    return docs
