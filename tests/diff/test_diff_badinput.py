"""Bad input to `qv diff`, `qv review`, `qv log`: the right exit code and a message that says
what to do, never a traceback."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.qvbin import QV

# Fixture types live in conftest.py (not importable under --import-mode=importlib).
Qv = Callable[..., Any]
Repo = Any
PROD_SERVICE = "environments/prod/configs/example-service.yaml"


def _no_traceback(done: Any) -> None:
    assert "Traceback" not in done.err
    assert "internal error" not in done.err


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "prd", "prod"),
        ("diff", "prod@main", "prd"),
        ("log", "--env", "prd"),
    ],
)
def test_unknown_environment_is_a_usage_error(repo: Repo, qv: Qv, args: tuple[str, ...]) -> None:
    done = qv(repo.root, *args)
    assert done.code == 2
    assert "unknown environment 'prd'" in done.err
    assert "dev, staging, prod" in done.err
    _no_traceback(done)


@pytest.mark.parametrize(
    "args",
    [
        ("diff", "prod@no-such-rev", "prod"),
        ("diff", "prod", "prod@no-such-rev"),
        ("review", "--base", "no-such-rev"),
        ("log", "--env", "prod", "--rev", "no-such-rev"),
    ],
)
def test_unknown_revision_is_operational(repo: Repo, qv: Qv, args: tuple[str, ...]) -> None:
    done = qv(repo.root, *args)
    assert done.code == 3
    assert "unknown revision 'no-such-rev'" in done.err
    assert "git log --oneline" in done.err
    _no_traceback(done)


@pytest.mark.parametrize("rev", ["HEAD:../x", "HEAD:../../etc"])
def test_a_revision_git_cannot_parse_is_unknown_not_a_missing_repository(
    repo: Repo, qv: Qv, rev: str
) -> None:
    # git answers such a revision with exit 128, as it answers outside a repository.
    done = qv(repo.root, "render", "--env", "dev", "--rev", rev)
    assert done.code == 3
    assert f"unknown revision {rev!r}" in done.err
    assert "not inside a Git repository" not in done.err


@pytest.mark.parametrize("bad", ["prod@", "@main"])
def test_malformed_side(repo: Repo, qv: Qv, bad: str) -> None:
    done = qv(repo.root, "diff", bad, "prod")
    assert done.code == 2
    assert "ENV@REV" in done.err


def test_unknown_format(repo: Repo, qv: Qv) -> None:
    for args in (("diff", "prod", "prod"), ("review", "--base", "main"), ("log", "--env", "prod")):
        done = qv(repo.root, *args, "--format", "html")
        assert done.code == 2, args
        assert "unknown format 'html'" in done.err


def test_invalid_right_side_names_the_side_and_why(repo: Repo, qv: Qv) -> None:
    repo.replace(
        "environments/prod/risk-policies/example-standard.yaml",
        "max_drawdown_pct: 10",
        'max_drawdown_pct: "ten"',
    )
    done = qv(repo.root, "diff", "prod@main", "prod")
    assert done.code == 1
    assert "side prod is invalid" in done.err
    assert "example-standard.yaml:10" in done.err
    assert "QV303" in done.err
    _no_traceback(done)


def test_invalid_left_side_names_the_revision(repo: Repo, qv: Qv) -> None:
    repo.replace(
        PROD_SERVICE, "max_order_notional: 2000000", "max_order_notional: 2000000\n  bogus"
    )
    bad = repo.commit("Broken YAML")
    repo.replace(PROD_SERVICE, "\n  bogus", "")
    repo.commit("Fix it")
    done = qv(repo.root, "diff", f"prod@{bad[:10]}", "prod")
    assert done.code == 1
    assert f"side prod@{bad[:10]} is invalid" in done.err
    assert "QV101" in done.err
    # qv log reports the broken commit instead of failing the whole walk.
    log = json.loads(qv(repo.root, "log", "--env", "prod", "--format", "json").out)
    assert [e["subject"] for e in log][:2] == ["Fix it", "Broken YAML"]
    assert log[0]["diff"] is None
    assert "does not validate" in log[0]["problem"]


def test_cross_document_error_of_a_template_edit_is_caught(repo: Repo, qv: Qv) -> None:
    # A template edit renders whole environments, which are then fully validated.
    repo.replace(
        "templates/service/base.yaml", 'replicas: "{{ env.vars.replicas }}"', "replicas: 0"
    )
    done = qv(repo.root, "diff", "prod@main", "prod")
    assert done.code == 1
    assert "side prod is invalid" in done.err
    assert "QV310" in done.err


def test_binary_yaml_file_is_a_load_finding(repo: Repo, qv: Qv) -> None:
    (repo.root / "environments/prod/configs/blob.yaml").write_bytes(b"\x00\x01\xff\xfe")
    done = qv(repo.root, "diff", "prod@main", "prod")
    assert done.code == 1
    assert "environments/prod/configs/blob.yaml:1" in done.err
    assert "QV107" in done.err
    _no_traceback(done)


def test_binary_non_yaml_file_is_ignored(repo: Repo, qv: Qv) -> None:
    (repo.root / "environments/prod/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    repo.commit("Add a logo")
    done = qv(repo.root, "diff", "prod@HEAD~1", "prod@HEAD", "--exit-code")
    assert (done.code, done.err) == (0, "")


def test_deleted_document_is_removed(repo: Repo, qv: Qv) -> None:
    # The Config is referenced by nothing, so deleting it leaves a valid tree.
    (repo.root / PROD_SERVICE).unlink()
    done = qv(repo.root, "diff", "prod@main", "prod", "--format", "json")
    assert done.code == 0, done.err
    changes = json.loads(done.out)["changes"]
    assert [(c["ref"], c["op"]) for c in changes] == [("config/example-service", "removed")]
    repo.commit("Remove the service")
    log = json.loads(qv(repo.root, "log", "--env", "prod", "-n", "1", "--format", "json").out)
    assert log[0]["diff"]["summary"]["removed"] == 1


def test_shallow_clone_without_the_base(repo: Repo, qv: Qv, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.replace(PROD_SERVICE, "max_order_notional: 2000000", "max_order_notional: 2500000")
    repo.commit("Second")
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)], check=True
    )
    for args in (("review", "--base", base), ("diff", f"prod@{base}", "prod")):
        done = qv(clone, *args)
        assert done.code == 3, args
        assert "shallow" in done.err
        assert "git fetch --unshallow" in done.err
        _no_traceback(done)


def test_revision_outside_git(tmp_path: Path, qv: Qv) -> None:
    from qv_config.scaffold import write_starter

    write_starter(tmp_path)
    done = qv(tmp_path, "diff", "prod@main", "prod")
    assert done.code == 3
    assert "needs a Git repository" in done.err
    assert qv(tmp_path, "diff", "staging", "prod").code == 0  # work tree only: no Git needed


def _run_on_pty(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run qv with its stdout on a pseudo-terminal (as in an interactive shell)."""
    main, child = pty.openpty()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=child, stderr=subprocess.PIPE)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal(repo: Repo) -> None:
    repo.replace(PROD_SERVICE, "max_order_notional: 2000000", "max_order_notional: 5000000")
    args = [QV, "diff", "prod@main", "prod"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    tty = _run_on_pty(args, repo.root, env)
    assert "\x1b[" in tty
    assert "LOOSENED" in tty
    plain = _run_on_pty(args, repo.root, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain
    assert "LOOSENED" in plain
    piped = subprocess.run(args, cwd=repo.root, env=env, capture_output=True, text=True, check=True)
    assert "\x1b[" not in piped.stdout
    assert "LOOSENED" in piped.stdout


def test_a_name_qv_refuses_is_refused_at_a_revision_as_in_the_work_tree(repo: Repo, qv: Qv) -> None:
    # A diff asks for the files a commit changed by name; such a name used to be read at a
    # revision (the document appeared as added) while every listing refused it (QV112).
    bad = "environments/dev/configs/a\nb.yaml"
    doc = "apiVersion: qv/v1\nkind: Config\nmetadata: {name: hidden, owner: x}\nspec: {a: 1}\n"
    (repo.root / bad).write_text(doc)
    work = qv(repo.root, "diff", "dev@HEAD", "dev")
    repo.commit("A name with a newline")
    revision = qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD")
    for done, side in ((work, "side dev is invalid"), (revision, "side dev@HEAD is invalid")):
        assert done.code == 1, done.out
        assert side in done.err
        assert "QV112" in done.err
        assert "config/hidden" not in done.out + done.err
        _no_traceback(done)


def test_log_says_why_the_tips_qv_yaml_cannot_be_read(repo: Repo, qv: Qv) -> None:
    # It used to say "unknown environment 'dev' (environments of qv.yaml: none)".
    (repo.root / "sub").mkdir()
    repo.git("mv", "qv.yaml", "sub/qv.yaml")
    (repo.root / "qv.yaml").symlink_to("sub/qv.yaml")
    repo.commit("qv.yaml as a link out of its folder")
    done = qv(repo.root, "log", "--env", "dev")
    assert done.code == 1, done.err
    assert "QV111" in done.err
    assert "cannot be read" in done.err
    assert "environments of qv.yaml: none" not in done.err
    _no_traceback(done)
