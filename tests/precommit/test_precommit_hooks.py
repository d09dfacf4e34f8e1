"""The real `pre-commit` tool runs this repository's `.pre-commit-hooks.yaml` against a `qv init`
tree: the hook source is a Git commit of this checkout (found from this file's location), as a
local path; `language: python` hooks install qv into pre-commit's own virtualenv (PyPI only),
`language: system` ones run the qv beside the test interpreter. A clean tree passes; a
plaintext secret is refused, by `pre-commit run` and by `git commit` once installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qv_config.scaffold import write_starter
from qv_config.scaffold.editor import write_editor_support

CHECKOUT = Path(__file__).resolve().parents[2]
# What `pip install .` of the hook repository needs (the rest of the checkout is not copied).
SOURCE = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src")
SERVICE = "environments/dev/configs/example-service.yaml"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _commit_all(cwd: Path, message: str) -> str:
    _git(cwd, "add", "-A")
    _git(cwd, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", message)
    return _git(cwd, "rev-parse", "HEAD")


def _init_repo(path: Path) -> None:
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "user.name", "CI Bot")
    _git(path, "config", "user.email", "ci@quantivista.dev")
    _git(path, "config", "commit.gpgsign", "false")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's installable files, committed in a repository of their own."""
    repo = tmp_path_factory.mktemp("qv-hooks")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCE:
        source = CHECKOUT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=ignore)
        else:
            shutil.copy2(source, repo / name)
    _init_repo(repo)
    return repo, _commit_all(repo, "qv hooks under test")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PRE_COMMIT_HOME shared by the tests of this module: qv is installed into it once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _config_tree(root: Path, hook_repo: tuple[Path, str], hooks: tuple[str, ...]) -> Path:
    write_starter(root)
    write_editor_support(root)  # as `qv init` does
    _init_repo(root)
    repo, rev = hook_repo
    ids = "".join(f"      - id: {hook}\n" for hook in hooks)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n{ids}", encoding="utf-8"
    )
    _commit_all(root, "Starter project")
    return root


def _env(home: Path) -> dict[str, str]:
    # The system hooks find the qv beside the test interpreter; nothing else of this checkout.
    bindir = str(Path(sys.executable).parent)
    path = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": path, "NO_COLOR": "1"}


def _pre_commit(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("pre-commit")
    return subprocess.run(
        [str(tool), *args], cwd=root, env=_env(home), capture_output=True, text=True, check=False
    )


def _leak(root: Path) -> None:
    path = root / SERVICE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("max_order_notional:", "api_key: hunter2\n  max_order_notional:"))
    _git(root, "add", "-A")


@pytest.mark.parametrize(
    "hooks",
    [
        ("qv-validate", "qv-secrets-check", "qv-schema-check"),
        ("qv-validate-system", "qv-secrets-check-system"),
    ],
    ids=["python", "system"],
)
def test_hooks_pass_a_clean_tree_and_refuse_a_plaintext_secret(
    tmp_path: Path, hook_repo: tuple[Path, str], home: Path, hooks: tuple[str, ...]
) -> None:
    root = _config_tree(tmp_path / "config", hook_repo, hooks)
    clean = _pre_commit(root, home, "run", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.count("Passed") == len(hooks), clean.stdout
    _leak(root)
    leaked = _pre_commit(root, home, "run", "--all-files")
    assert leaked.returncode == 1, leaked.stdout + leaked.stderr
    assert "QV601" in leaked.stdout
    assert "hunter2" not in leaked.stdout + leaked.stderr
    assert leaked.stdout.count("Failed") == 2  # validate and secrets check both refuse it


def test_an_installed_hook_refuses_the_commit(
    tmp_path: Path, hook_repo: tuple[Path, str], home: Path
) -> None:
    root = _config_tree(tmp_path / "config", hook_repo, ("qv-secrets-check",))
    installed = _pre_commit(root, home, "install")
    assert installed.returncode == 0, installed.stderr
    _leak(root)
    commit = subprocess.run(
        ["git", "commit", "-q", "-m", "leak"],
        cwd=root,
        env=_env(home),
        capture_output=True,
        text=True,
        check=False,
    )
    assert commit.returncode != 0
    assert "QV601" in commit.stdout + commit.stderr
    assert _git(root, "log", "--format=%s") == "Starter project"  # nothing was committed


def test_the_schema_hook_refuses_stale_schemas(
    tmp_path: Path, hook_repo: tuple[Path, str], home: Path
) -> None:
    root = _config_tree(tmp_path / "config", hook_repo, ("qv-schema-check",))
    schema = root / "schemas/qv/editor/strategy.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace('"live"', '"alive"'))
    _git(root, "add", "-A")
    stale = _pre_commit(root, home, "run", "--all-files")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "editor/strategy.schema.json" in stale.stdout
