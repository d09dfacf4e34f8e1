"""qv.yaml's YAML limits bind every cached parse (``cache.parse``): a file that loaded cleanly
under the defaults is refused (QV105) once ``spec.limits`` tightens, cached or not."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.qvbin import QV
from tests.starter import committed_starter

POLICY = "environments/dev/risk-policies/example-standard.yaml"


def qv(root: Path, home: Path, *args: str) -> tuple[int, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    env.pop("QV_STORE", None)
    done = subprocess.run(
        [QV, "-C", str(root), *args], check=False, env=env, capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr, done.stderr
    if "json" not in args:
        return done.returncode, None
    return done.returncode, json.loads(done.stdout).get("findings")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_tightened_yaml_limits_refuse_a_file_the_cache_loaded_before(tmp_path: Path) -> None:
    root, home = committed_starter(tmp_path / "proj"), tmp_path / "home"
    edit(root / POLICY, "max_order_notional: 50000", "max_order_notional: &n 50000")
    edit(root / POLICY, "daily_loss_limit: 100000", "daily_loss_limit: *n")
    git(root, "commit", "-qam", "an alias")
    assert qv(root, home, "validate")[0] == 0  # clean under the default limits: cached
    assert qv(root, home, "render", "--env", "dev", "--rev", "HEAD")[0] == 0
    edit(root / "qv.yaml", "spec:\n", "spec:\n  limits: {max_alias_nodes: 0}\n")
    git(root, "commit", "-qam", "no aliases")
    cached = qv(root, home, "validate", "--format", "json")
    fresh = qv(root, home, "validate", "--no-cache", "--format", "json")
    assert cached == fresh
    assert cached[0] == 1
    assert "QV105" in json.dumps(cached[1])
    assert qv(root, home, "render", "--env", "dev", "--rev", "HEAD")[0] == 1
    assert qv(root, home, "render", "--env", "dev", "--rev", "HEAD~1")[0] == 0  # its own limits
