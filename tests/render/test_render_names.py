"""Name-keyed lists (SPEC §3.3): a repeated name is QV221 at the second item, a name that is not
text QV222, in every layer (template, base, document, overlay) and after templating.

Before, merging by name kept the last of two items with one name (or folded an overlay's second
item into its first), provenance pointed at the first, and `qv diff` compared by name: a change
to the hidden item was invisible. A name that cannot be a dictionary key (a mapping) crashed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qv_config.render import render_environment
from qv_config.scaffold import write_starter

TEMPLATE = "templates/strategy/base.yaml"
BASE = "strategies/momentum-eu.yaml"
OVERLAY = "environments/prod/strategies/momentum-eu.yaml"
STAGES = "allocation:\n    current_stage: paper\n    stages:\n"


def _stages(*items: str, head: str = "spec:\n  ") -> str:
    return head + STAGES + "".join(f"      - {item}\n" for item in items)


def _found(rendered: Any) -> list[tuple[str, str, int, str]]:
    return sorted((f.code, f.file, f.line, f.field) for f in rendered.findings)


def test_repeated_name_in_an_overlay_is_reported_not_folded(tree: Any, snap: Any) -> None:
    files = {OVERLAY: _stages("{name: full, capital: 1}", "{name: full, capital: 2}")}
    rendered = render_environment(snap(tree(files)), "prod")
    assert ("QV221", OVERLAY, 6, "spec.allocation.stages[1]") in _found(rendered)
    assert "prod/strategy/momentum-eu" not in rendered.docs


def test_repeated_name_in_a_template_is_reported_in_every_environment(tree: Any, snap: Any) -> None:
    template = "apiVersion: qv/v1\nkind: Strategy\nmetadata: {owner: team-alpha}\n" + _stages(
        "{name: paper, capital: 0}", "{name: full}", "{name: paper, capital: 5}"
    )
    snapshot = snap(tree({TEMPLATE: template}))
    for env in ("dev", "prod"):
        found = _found(render_environment(snapshot, env))
        assert ("QV221", TEMPLATE, 10, "spec.allocation.stages[2]") in found, env


def test_repeated_name_produced_by_templating(tree: Any, snap: Any) -> None:
    files = {
        BASE: (
            "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: momentum-eu}\n"
            'spec:\n  venues:\n    - {name: "{{ env.vars.region }}"}\n    - {name: eu-west-1}\n'
            "  desks: \"{{ [{'name': 'a'}, {'name': 'a'}] }}\"\n"
        )
    }
    found = _found(render_environment(snap(tree(files)), "prod"))
    assert ("QV221", BASE, 7, "spec.venues[1]") in found
    assert ("QV221", BASE, 8, "spec.desks[1]") in found


@pytest.mark.parametrize(
    ("item", "what"),
    [
        ("{name: {a: 1}}", "dict"),
        ("{name: 2}", "int"),
        ("{name: [x]}", "list"),
        ("{name: ~}", "None"),
    ],
)
def test_a_name_that_is_not_text_is_qv222_never_a_crash(
    tree: Any, snap: Any, item: str, what: str
) -> None:
    """A mapping as a name used to raise 'unhashable type' out of the merge."""
    files = {OVERLAY: _stages(item)}
    rendered = render_environment(snap(tree(files)), "prod")
    [finding] = [f for f in rendered.findings if f.file == OVERLAY]
    assert (finding.code, finding.line, finding.field) == (
        "QV222",
        5,
        "spec.allocation.stages[0].name",
    )
    assert f"name is {what}" in finding.message


def test_replace_tagged_list_is_checked_too(tree: Any, snap: Any) -> None:
    files = {OVERLAY: "spec:\n  allocation:\n    stages: !replace [{name: a}, {name: a}]\n"}
    found = _found(render_environment(snap(tree(files)), "prod"))
    assert ("QV221", OVERLAY, 3, "spec.allocation.stages[1]") in found


def test_distinct_names_and_other_lists_are_fine(tree: Any, snap: Any) -> None:
    files = {OVERLAY: _stages("{name: paper}", "{name: full, capital: 9}") + "  tags: [a, a]\n"}
    rendered = render_environment(snap(tree(files)), "prod")
    assert not [f for f in rendered.findings if f.code in ("QV221", "QV222")]


def test_a_change_to_a_hidden_item_is_no_longer_invisible_to_diff(
    tmp_path: Path, qv: Any, git_repo: Any
) -> None:
    """Before: dev's overlay had two 'canary' stages, merged into one; editing the first changed
    nothing `qv diff` could see, and validate passed. Now validate names the second item."""
    root = tmp_path / "starter"
    write_starter(root)
    overlay = root / "environments/dev/strategies/example-momentum.yaml"
    hidden = "  allocation:\n    stages:\n      - {name: canary, capital: %d}\n" + (
        "      - {name: canary, capital: 100000}\n"
    )
    overlay.write_text(overlay.read_text() + hidden % 1)
    git = git_repo(root)
    git.commit("two stages named canary")
    overlay.write_text(overlay.read_text().replace("capital: 1}", "capital: 7}"))
    run = qv(root, "validate", "--env", "dev", "--format", "json")
    assert run.code == 1
    found = [(f["code"], f["file"], f["line"]) for f in json.loads(run.out)["findings"]]
    assert found == [("QV221", "environments/dev/strategies/example-momentum.yaml", 7)]
    diff = qv(root, "diff", "dev@HEAD", "dev")
    assert diff.code == 1
    assert "QV221" in diff.err


def test_a_secret_cannot_be_a_name() -> None:
    """Validation sees a secret as ciphertext, sync as plaintext (``Plaintext``): merging by it
    would differ, and QV221 would quote it. Either is QV222, which names no value."""
    from qv_config.render.merge import list_names
    from qv_config.yamlio.types import Plaintext

    cipher = "ENC[AES256_GCM,data:AAAA,iv:BBBB,tag:CCCC,type:str]"
    for name in (cipher, Plaintext("hunter2-as-name")):
        found = list_names([{"name": name}, {"name": name}], ("spec", "users"))
        assert [(path, code) for path, code, _ in found] == [
            (("spec", "users", 0, "name"), "QV222"),
            (("spec", "users", 1, "name"), "QV222"),
        ]
        assert all("secret" in message and "hunter2" not in message for *_, message in found)
