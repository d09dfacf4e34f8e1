"""``qv diff`` (text, markdown, json), ``qv review`` and ``qv log`` over a Git history whose
values, keys, commit messages and authors are hostile: every output stays inert, markdown keeps
its structure (values only inside code spans), JSON keeps the exact data."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tests.inprocess import run_qv
from tests.output.hostile import (
    HOSTILE,
    assert_inert_markdown,
    assert_inert_text,
    assert_markup_kept,
    code_spans,
    commit,
    starter_repo,
    yaml_quoted,
)

CONFIG = "environments/dev/configs/hostile.yaml"
# An author name may hold anything but "<", ">" and a newline (git's ident line).
EVIL_AUTHOR = (
    "Eve \x1b[31m\u202e[bold red]styled[/bold red] ::error::x ##[error]y\x1fz <eve@evil.example>"
)
EVIL_MESSAGE = "\n".join(HOSTILE.values()) + "\n\nbody " + HOSTILE["html_details"]


def _config(spec: dict[str, str]) -> str:
    body = "".join(f"  {yaml_quoted(key)}: {yaml_quoted(value)}\n" for key, value in spec.items())
    return f"apiVersion: qv/v1\nkind: Config\nmetadata: {{name: hostile}}\nspec:\n{body}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Starter; a Config with plain keys; then, by a hostile author with a hostile message, the
    same Config with every hostile string as a key and as a value; the work tree changes every
    value once more (for review)."""
    root = starter_repo(tmp_path_factory.mktemp("hostile") / "config")
    (root / CONFIG).write_text(_config(dict.fromkeys(HOSTILE, "before")))
    commit(root, "Plain config")
    evil = {text: text for text in HOSTILE.values()} | dict(HOSTILE)
    (root / CONFIG).write_text(_config(evil))
    commit(root, EVIL_MESSAGE, author=EVIL_AUTHOR)
    (root / CONFIG).write_text(_config({name: text + "!" for name, text in HOSTILE.items()}))
    return root


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_diff_of_revisions_is_inert(
    repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    done = run_qv(capsys, repo, "diff", "dev@HEAD~1", "dev@HEAD", "--format", fmt)
    assert done.code == 0, done.err
    assert_inert_text(done.err)
    if fmt == "text":
        assert_inert_text(done.out)
        assert_markup_kept(done.out)
    elif fmt == "markdown":
        assert_inert_markdown(done.out, details=0)
        spans = code_spans(done.out)
        # The values are there, whole and readable, inside code spans (markdown-it undoes the
        # table's "\|"): nothing was dropped to make them safe.
        for name in ("html_details", "html_script", "md_pipes", "md_backticks", "md_link"):
            assert any(HOSTILE[name] in span for span in spans), name
    else:
        assert_inert_text(done.out)
        fields = json.loads(done.out)["changes"][0]["fields"]
        # JSON is for tools: the exact values, whatever they hold.
        assert {f["new"] for f in fields if f["op"] == "added"} >= set(HOSTILE.values())


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_review_is_inert(repo: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    done = run_qv(capsys, repo, "review", "--base", "HEAD~1", "--format", fmt)
    assert done.code == 0, done.err
    assert_inert_text(done.err)
    if fmt == "markdown":
        assert_inert_markdown(done.out, details=3)  # one folded section per environment
    else:
        assert_inert_text(done.out)
        if fmt == "json":
            json.loads(done.out)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_shows_hostile_commits_inert(
    repo: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    done = run_qv(capsys, repo, "log", "--env", "dev", "--format", fmt)
    assert done.code == 0, done.err
    assert_inert_text(done.out)
    assert_inert_text(done.err)
    if fmt == "json":
        newest = json.loads(done.out)[0]
        # Git joins the subject's lines with spaces; qv keeps what git gives, exactly.
        assert newest["author"].startswith("Eve \x1b[31m\u202e[bold red]")
        assert newest["author"].endswith("##[error]y\x1fz")
        assert newest["subject"].startswith(HOSTILE["ansi_sgr"])
    else:
        assert "Author: Eve \\x1b[31m\\u202e[bold red]styled[/bold red]" in done.out
        assert_markup_kept(done.out)


def test_terminal_output_interprets_no_markup(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the text goes through rich with colour: values are still text (a
    ``[link=...]`` would become an OSC 8 hyperlink, ``:warning:`` an emoji)."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for args in (("diff", "dev@HEAD~1", "dev@HEAD"), ("log", "--env", "dev")):
        screen = Terminal()
        monkeypatch.setattr(sys, "stdout", screen)
        monkeypatch.delenv("NO_COLOR", raising=False)
        done = run_qv(capsys, repo, *args)
        monkeypatch.undo()
        assert done.code == 0, done.err
        shown = screen.getvalue()
        assert "\x1b[" in shown  # rich's own colours: this was the terminal path
        assert "\x1b]8" not in shown  # no hyperlink from a value
        assert ":warning: :skull:" in shown
        for text in ("[bold red]", "[link=https://evil.example]", "\\x1b[31m"):
            assert text in shown, text
        assert "\x1b[31mRED" not in shown
        assert "\x1b[2J" not in shown


def test_render_json_keeps_values_and_escapes_invisible_characters(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run_qv(capsys, repo, "render", "--env", "dev", "--format", "json")
    assert done.code == 0, done.err
    assert_inert_text(done.out)
    spec = json.loads(done.out)["dev/config/hostile"]["spec"]
    assert spec == {name: text + "!" for name, text in HOSTILE.items()}


@pytest.mark.parametrize("rev", ["HEAD", None], ids=["hostile-keys", "work-tree"])
def test_render_yaml_escapes_invisible_characters_and_loads_back(
    repo: Path, capsys: pytest.CaptureFixture[str], rev: str | None
) -> None:
    """`qv render --format yaml` goes to terminals and PR comments: values (and keys) holding
    control, bidi or tag characters are double-quoted with escapes; the output is still YAML
    that loads to what `--format json` gives."""
    import yaml

    from qv_config.yamlio import load_bytes

    at = ["--rev", rev] if rev else []
    done = run_qv(capsys, repo, "render", "--env", "dev", "config/hostile", *at)
    assert done.code == 0, done.err
    assert_inert_text(done.out)
    assert '"admin\\u202e\\u2066txt.exe\\u2069\\u202c' in done.out
    as_json = run_qv(capsys, repo, "render", "--env", "dev", "--format", "json", *at)
    expected = json.loads(as_json.out)["dev/config/hostile"]
    assert load_bytes("out.yaml", done.out.encode()).data == expected
    assert yaml.safe_load(done.out) == expected
