"""`qv validate` end to end: exit codes, path filter, output formats, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.qvbin import QV

QvRun = Callable[..., tuple[int, str, str]]


def test_valid_tree_text_summary(case_tree: Callable[[str], Path], qv: QvRun) -> None:
    code, out, err = qv("-C", str(case_tree("valid")), "validate")
    assert code == 0
    assert err == ""
    assert out.strip() == "✓ valid: 7 documents in 2 environments"


def test_unknown_environment_and_format_are_usage_errors(
    case_tree: Callable[[str], Path], qv: QvRun
) -> None:
    root = str(case_tree("valid"))
    code, out, err = qv("-C", root, "validate", "--env", "qa")
    assert code == 2
    assert out == ""
    assert "unknown environment 'qa'" in err
    assert "dev, prod" in err
    code, _out, err = qv("-C", root, "validate", "--format", "xml")
    assert code == 2
    assert "text, json, github, sarif" in err
    assert "Traceback" not in err


def test_env_selection(case_tree: Callable[[str], Path], qv: QvRun) -> None:
    root = str(case_tree("qv530-draft-active-in-prod"))
    code, out, _err = qv("-C", root, "validate", "--env", "dev", "--format", "json")
    assert code == 0
    assert json.loads(out)["summary"]["environments"] == ["dev"]
    code, out, _err = qv("-C", root, "validate", "-e", "prod", "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["QV530"]


def test_paths_filter_findings(case_tree: Callable[[str], Path], qv: QvRun) -> None:
    root = case_tree("qv501-qv502-qv505-dangling-references")
    code, out, _err = qv("-C", str(root), "validate", "--format", "json", "templates")
    assert code == 1
    assert {f["file"] for f in json.loads(out)["findings"]} == {"templates/strategy/base.yaml"}
    code, out, _err = qv("-C", str(root), "validate", "--format", "json", "environments/dev")
    assert code == 0
    assert json.loads(out)["findings"] == []
    code, _out, err = qv("-C", str(root), "validate", str(root.parent))
    assert code == 2
    assert "outside the project" in err


def test_a_path_that_matches_no_file_is_a_usage_error(
    case_tree: Callable[[str], Path], qv: QvRun
) -> None:
    root = case_tree("qv501-qv502-qv505-dangling-references")
    for typo in ("environments/dve", "templates/strategy/bsae.yaml", "README.md"):
        code, out, err = qv("-C", str(root), "validate", typo)
        assert code == 2, typo
        assert out == ""
        assert f"path {typo!r} matches no file qv validates" in err
    code, _out, _err = qv("-C", str(root), "validate", "templates/strategy/base.yaml", ".")
    assert code == 1  # a file, and the whole project, match


def test_a_file_qv_lists_but_does_not_validate_is_no_match(
    case_tree: Callable[[str], Path], qv: QvRun
) -> None:
    # A note beside the documents and a document of a folder qv.yaml does not declare exist,
    # but qv checks neither: "valid" for them would be a false all-clear.
    root = case_tree("qv501-qv502-qv505-dangling-references")
    (root / "environments/dev/notes.txt").write_text("replicas: 999999\n")
    (root / "environments/qa").mkdir()
    (root / "environments/qa/q.yaml").write_text("apiVersion: qv/v1\nkind: Config\n")
    for path in ("environments/dev/notes.txt", "environments/qa/q.yaml"):
        code, out, err = qv("-C", str(root), "validate", path)
        assert (code, out) == (2, ""), path
        assert f"path {path!r} matches no file qv validates" in err
    code, out, _err = qv("-C", str(root), "validate", "--format", "json", "environments/qa")
    assert code == 1  # the folder itself is what QV204 names
    assert [f["code"] for f in json.loads(out)["findings"]] == ["QV204"]


def test_not_a_project(tmp_path: Path, qv: QvRun) -> None:
    code, out, err = qv("-C", str(tmp_path), "validate")
    assert code == 2
    assert out == ""
    assert "no qv.yaml" in err
    assert "Traceback" not in err


def test_broken_qv_yaml_reports_and_fails(tmp_path: Path, qv: QvRun) -> None:
    (tmp_path / "qv.yaml").write_text("apiVersion: qv/v1\nkind: Project\nspec: [\n")
    code, out, err = qv("-C", str(tmp_path), "validate", "--format", "json")
    assert "Traceback" not in err
    assert code in (1, 2)
    if code == 1:
        assert json.loads(out)["summary"]["valid"] is False


def test_console_script_without_tty_has_no_colour(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("qv540-expired-flag")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    done = subprocess.run(
        [QV, "-C", str(root), "validate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0  # a warning alone does not fail
    assert "\x1b[" not in done.stdout
    assert "QV540" in done.stdout
    assert "0 errors, 1 warning in 1 file" in done.stdout


def test_machine_formats_end_to_end(case_tree: Callable[[str], Path], qv: QvRun) -> None:
    root = str(case_tree("qv510-strategy-limit-above-policy"))
    code, out, _err = qv("-C", root, "validate", "--format", "github")
    assert code == 1
    assert out.startswith("::error file=environments/prod/strategies/alpha.yaml,line=4,col=5,")
    code, out, _err = qv("-C", root, "validate", "--format", "sarif")
    assert code == 1
    [result] = json.loads(out)["runs"][0]["results"]
    assert result["ruleId"] == "QV510"


def _on_a_tty(root: Path, no_color: bool) -> str:
    import pty

    primary, replica = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    if no_color:
        env["NO_COLOR"] = "1"
    with subprocess.Popen(
        [QV, "-C", str(root), "validate"],
        stdout=replica,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        os.close(replica)
        chunks = []
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the replica side closed: the child is done
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
    os.close(primary)
    return b"".join(chunks).decode()


def test_colour_on_a_tty_unless_no_color(case_tree: Callable[[str], Path]) -> None:
    root = case_tree("qv540-expired-flag")
    assert "\x1b[" in _on_a_tty(root, no_color=False)
    plain = _on_a_tty(root, no_color=True)
    assert "\x1b[" not in plain
    assert "QV540" in plain
