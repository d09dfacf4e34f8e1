"""Template values kept across runs (``cache.templates``): data only, never code; the same output
from kept values; damaged or foreign files ignored; a warm render needs no Jinja2."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.sealing import machine

QV = str(Path(sys.executable).with_name("qv"))
TEMPLATED = {
    "environments/dev/configs/templated.yaml": """\
        apiVersion: qv/v1
        kind: Config
        metadata: {name: templated}
        spec:
          native: "{{ env.vars.capital * 2 }}"
          spliced: "eu-{{ env.vars.region }}-{{ env.vars.capital }}"
          text: "{% if env.vars.capital > 10 %}big{% else %}small{% endif %}"
    """,
}


def _qv(root: Path, xdg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    return subprocess.run(
        [QV, "-C", str(root), *args], capture_output=True, text=True, env=env, check=False
    )


def _render(root: Path, xdg: Path) -> str:
    done = _qv(root, xdg, "render", "--env", "dev", "--format", "json")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def project(tree: Callable[..., Path]) -> Path:
    return tree(TEMPLATED)


def _stored(project: Path) -> dict[str, bytes]:
    from qv_config.cache import pack
    from qv_config.cache.pack import sealer
    from qv_config.cache.templates import _jinja_fingerprint

    path = project / ".qv" / "cache" / "templates.qvc"
    blob = pack.read_one(path, sealer(project, "templates.qvc", _jinja_fingerprint()), "values")
    assert blob is not None
    values: dict[str, bytes] = marshal.loads(blob)
    return values


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(_plain, value))
    return value is None or type(value) in (str, int, float, bool)


def test_kept_values_render_the_same_and_are_data_only(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    first = _render(project, xdg)
    assert (xdg / "qv" / "cache-key").stat().st_mode & 0o777 == 0o600
    assert '"big"' in first
    assert '"eu-' in first
    assert _render(project, xdg) == first  # second run: every value from the memo
    with machine(xdg):
        stored = _stored(project)
    assert stored
    # Values, never code: each record decodes to plain data (no code object, nothing to run).
    assert all(_plain(marshal.loads(blob)) for blob in stored.values())


def test_a_damaged_or_foreign_file_is_ignored(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    expected = _render(project, xdg)
    cache_file = project / ".qv" / "cache" / "templates.qvc"
    data = cache_file.read_bytes()
    cache_file.write_bytes(data[:-3] + b"\x00\x00\x00")
    assert _render(project, xdg) == expected
    cache_file.write_bytes(data)
    assert _render(project, tmp_path / "other-machine") == expected


def test_rejected_templates_are_not_cached(tree: Callable[..., Path], tmp_path: Path) -> None:
    root = tree(
        {
            "environments/dev/configs/escape.yaml": """\
                apiVersion: qv/v1
                kind: Config
                metadata: {name: escape}
                spec:
                  x: "{{ ''.__class__.__mro__ }}"
            """,
        }
    )
    xdg = tmp_path / "xdg"
    for _ in range(2):  # the second run must not take the string from a cache
        done = _qv(root, xdg, "validate", "--format", "json")
        assert done.returncode == 1
        assert "QV231" in done.stdout


def _render_in_process(root: Path, xdg: Path) -> tuple[str, bool]:
    """Output of ``qv render --env dev --format json`` and whether it imported Jinja2."""
    probe = (
        "import sys\n"
        "from qv_config.cli.__main__ import main\n"
        "try:\n"
        f"    main(['-C', {str(root)!r}, 'render', '--env', 'dev', '--format', 'json'])\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "sys.stderr.write('jinja2' if 'jinja2' in sys.modules else '-')\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout, done.stderr.endswith("jinja2")


def test_values_of_env_only_templates_need_no_jinja(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    first, imported = _render_in_process(project, xdg)
    assert imported
    again, imported = _render_in_process(project, xdg)
    assert again == first
    assert not imported  # every template reads only env: values kept for this context


def test_a_changed_context_evaluates_again(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    before, _ = _render_in_process(project, xdg)
    env_file = project / "environments" / "dev" / "environment.yaml"
    text = env_file.read_text()
    assert "capital: " in text
    env_file.write_text(text.replace("capital: ", "capital: 1", 1))
    after, imported = _render_in_process(project, xdg)
    assert imported
    assert after != before
    assert after == _render(project, tmp_path / "no-cache-machine")
