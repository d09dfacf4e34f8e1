"""`qv sync` with nothing changed reads and renders nothing: the store's ``_meta.inputs`` (the
input stamp of the deployed state) is compared with the stamp of ``--rev`` first (issue 10: a
sync of 50,000 documents with nothing changed took 6.6 s, rendering every environment).

Real Git projects and real SQLite / redis-server / etcd stores, the CLI end to end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.store.test_store_drift_norender import (
    commit_change,
    drift,
    edit_out_of_band,
    forget_inputs,
)

import qv_config.cli.sync  # noqa: F401 - registers the command on the app
from qv_config.store.desiredcache import STATS


def sync(root: Path, sh: Any, url: str, *extra: str) -> tuple[dict[str, Any], int]:
    """The JSON report of one ``qv sync --env dev`` and how many environments it rendered."""
    before = STATS.renders
    code, out, err = sh.qv(root, "sync", "--env", "dev", "--store", url, "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out), STATS.renders - before


def test_an_unchanged_sync_renders_nothing(project: Path, sh: Any, store_url: str) -> None:
    first, renders = sync(project, sh, store_url)
    assert (first["status"], renders) == ("applied", 1)
    again, renders = sync(project, sh, store_url)
    assert (again["status"], renders) == ("unchanged", 0)
    assert again["to"]["digest"] == first["to"]["digest"]
    (project / "README.md").write_text("docs only\n")  # a new commit, the same inputs
    sh.git(project, "add", "-A")
    sh.git(project, "commit", "-qm", "docs")
    again, renders = sync(project, sh, store_url, "--dry-run")
    assert (again["status"], renders) == ("unchanged", 0)
    commit_change(project, sh, 7)  # a changed input: rendered and applied
    changed, renders = sync(project, sh, store_url)
    assert (changed["status"], renders) == ("applied", 1)
    assert changed["plan"]["changed"] == ["dev/config/example-service"]


def test_heal_and_older_stores_still_render(project: Path, sh: Any, store_url: str) -> None:
    sync(project, sh, store_url)
    edit_out_of_band(store_url, project, sh)
    healed, renders = sync(project, sh, store_url, "--heal")
    assert (healed["status"], renders) == ("applied", 1)  # edits are found in the values
    assert drift(project, sh, store_url)[1]["out_of_band"]["modified"] == []
    forget_inputs(store_url, project, sh)  # as written by a qv before _meta.inputs
    again, renders = sync(project, sh, store_url)
    assert (again["status"], renders) == ("unchanged", 1)  # rendered, then the digest decides


def test_sync_reads_only_its_environment(project: Path, sh: Any, store_url: str) -> None:
    # A broken file in prod: syncing dev neither reads it nor refuses for it; prod is refused.
    (project / "environments/prod/configs/broken.yaml").write_text("a: [\n")
    sh.git(project, "add", "-A")
    sh.git(project, "commit", "-qm", "broken prod file")
    applied, renders = sync(project, sh, store_url)
    assert (applied["status"], renders) == ("applied", 1)
    code, _, err = sh.qv(project, "sync", "--env", "prod", "--store", store_url)
    assert code == 1
    assert "environments/prod/configs/broken.yaml" in err
    assert "QV101" in err


def test_the_values_validation_renders_are_the_values_synced(project: Path, sh: Any) -> None:
    # A sync renders each document once: validation hands each rendered document over. The
    # state equals one rendered apart (no check), cold and after a validate of the same tree.
    import shutil

    from qv_config.store.source import render_desired

    apart = render_desired(project, "dev", "HEAD", check=False)
    for _ in range(2):  # no memo, then the memo the first run left
        checked = render_desired(project, "dev", "HEAD")
        assert (checked.digest, checked.values) == (apart.digest, apart.values)
    shutil.rmtree(project / ".qv", ignore_errors=True)
    assert sh.qv(project, "validate")[0] == 0
    commit_change(project, sh, 7)  # one document changed since: rendered by validation only
    checked = render_desired(project, "dev", "HEAD")
    assert checked.values == render_desired(project, "dev", "HEAD", check=False).values


def _schema_outside(root: Path, sh: Any) -> None:
    """dev's example-service checked against ``extra/svc.schema.json`` (``metadata.schema``:
    any file), which the input key's folders do not hold."""
    (root / "extra").mkdir()
    (root / "schemas/configs/example-service.schema.json").rename(root / "extra/svc.schema.json")
    config = root / "environments/dev/configs/example-service.yaml"
    text = config.read_text().replace(
        "owner: team-platform}", "owner: team-platform,\n  schema: extra/svc.schema.json}"
    )
    config.write_text(text)
    sh.git(root, "add", "-A")
    sh.git(root, "commit", "-qm", "a schema outside schemas/")


def test_a_schema_outside_the_key_is_in_the_stamp(project: Path, sh: Any, tmp_path: Path) -> None:
    """Before the fix: a commit that only tightened that schema was "unchanged" (the stamp of
    the input key alone), never validated, where a render refuses it (QV310)."""
    url = f"sqlite:{tmp_path}/state.db"
    _schema_outside(project, sh)
    first, renders = sync(project, sh, url)
    assert (first["status"], renders) == ("applied", 1)
    again, renders = sync(project, sh, url)
    assert (again["status"], renders) == ("unchanged", 0)  # the shortcut still holds
    path = project / "extra/svc.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["max_order_notional"]["maximum"] = 50000  # dev has 100000
    path.write_text(json.dumps(schema))
    sh.git(project, "commit", "-qam", "tighten the schema only")
    code, out, err = sh.qv(project, "sync", "--env", "dev", "--store", url)
    assert code == 1, out
    assert "QV310" in err + out
    # Drift's stamp differs too: the tip's hashes (kept by the refused sync's render) say that
    # the values are the same, so nothing is pending.
    code, report, _ = drift(project, sh, url)
    assert (code, report["pending"]["changed"], report["pending"]["revision"]) == (
        0,
        [],
        sh.git(project, "rev-parse", "HEAD"),
    )
