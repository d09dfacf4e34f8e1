"""The compiled-template code cache: the same output from cached code, nothing taken from a file
this user's qv did not write (it would run outside the sandbox), bad files ignored."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qv_config.render import codecache

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


def test_cached_code_renders_the_same(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    first = _render(project, xdg)
    cache_file = project / ".qv" / "cache" / "templates.marshal"
    assert cache_file.is_file()
    assert (xdg / "qv" / "state-key").stat().st_mode & 0o777 == 0o600
    assert '"big"' in first
    assert '"eu-' in first
    assert _render(project, xdg) == first  # second run: every string from cached code


def test_code_from_a_foreign_file_never_runs(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    expected = _render(project, xdg)
    marker = tmp_path / "pwned"
    evil = compile(f"open({str(marker)!r}, 'w').write('x')", "<evil>", "exec")
    cache_file = project / ".qv" / "cache" / "templates.marshal"
    sealed_head = cache_file.read_bytes()[: len(b"qv-sealed-1\n") + 16]
    # The same entries, every code object swapped for the evil one, under a guessed seal...
    stored = marshal.loads(cache_file.read_bytes()[len(sealed_head) :])
    forged = {key: (marshal.dumps(evil), uses) for key, (_code, uses) in stored[1].items()}
    body = marshal.dumps((stored[0], forged))
    cache_file.write_bytes(b"qv-sealed-1\n" + b"\0" * 16 + body)
    assert _render(project, xdg) == expected
    assert not marker.exists()
    # ... and as a repository would ship it to another machine: that machine's own key differs.
    cache_file.write_bytes(sealed_head + body)
    assert _render(project, tmp_path / "other-machine") == expected
    assert not marker.exists()


def test_a_corrupt_sealed_file_is_ignored(project: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    expected = _render(project, xdg)
    cache_file = project / ".qv" / "cache" / "templates.marshal"
    head = cache_file.read_bytes()[: len(b"qv-sealed-1\n") + 16]
    cache_file.write_bytes(head + b"\x00not marshal")
    assert _render(project, xdg) == expected


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


def test_unit_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    from qv_config.repo import statefile

    statefile._token.cache_clear()
    try:
        path = tmp_path / ".qv" / "cache" / "templates.marshal"
        cache = codecache.CodeCache(path)
        code = compile("x = 1", "<t>", "exec")
        cache.put("text", "{{ a }}", code, True)
        cache.save()
        again = codecache.CodeCache(path).get("text", "{{ a }}")
        assert again is not None
        assert again[1] is True
        assert codecache.CodeCache(path).get("text", "{{ b }}") is None
        assert (tmp_path / ".qv" / ".gitignore").is_file()
    finally:
        statefile._token.cache_clear()


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
