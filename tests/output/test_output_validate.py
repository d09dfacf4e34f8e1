"""``qv validate`` (every format) and ``qv render`` on a work tree full of hostile input: findings
whose values, keys, file names and source lines carry escapes, bidi overrides, workflow commands,
markup and HTML, and values of a megabyte. No output holds a raw unsafe character, a command a
CI runner would act on, interpreted markup, or more than EXCERPT characters of a value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qv_config.repo.files import bad_name, escape
from qv_config.safetext import EXCERPT
from qv_config.scaffold import write_starter
from tests.inprocess import QvRun, run_qv
from tests.output.hostile import (
    FILE_NAMES,
    HOSTILE,
    assert_inert_text,
    assert_markup_kept,
    longest_run,
    raw_unsafe,
    yaml_quoted,
)

OVERLAY = "environments/dev/strategies/example-momentum.yaml"
SERVICE = "environments/dev/configs/example-service.yaml"
FORMATS = ("text", "json", "github", "sarif")
BIG = 1_000_000


def _hostile_parameters() -> str:
    """An enum parameter per hostile string, its value the string: QV403 quotes each value."""
    lines = ["spec:", "  activation: active", "  parameters:"]
    for index, text in enumerate(HOSTILE.values()):
        lines.append(
            f"    p{index}: {{type: enum, value: {yaml_quoted(text)}, choices: [daily, weekly]}}"
        )
    return "\n".join(lines) + "\n"


def _hostile_keys(service: str) -> str:
    """Keys the service schema does not allow (QV310 names each key and its field path)."""
    keys = "".join(f"  {yaml_quoted(text)}: 1\n" for text in HOSTILE.values())
    return service + keys


@pytest.fixture
def hostile_tree(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    root.mkdir()
    write_starter(root)
    (root / OVERLAY).write_text(_hostile_parameters())
    service = root / SERVICE
    service.write_text(_hostile_keys(service.read_text()))
    folder = root / "environments/dev/flags"
    for text in FILE_NAMES.values():
        (folder / f"{text}.yaml").write_text("kind: Nope\n")  # a file name in every finding
    # Raw ESC and bidi characters on a source line: YAML rejects the ESC, the report shows the line.
    (folder / "raw.yaml").write_bytes("note: a\u202eb \x1b[31mred\n".encode())
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_validate_output_is_inert(
    hostile_tree: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    done = run_qv(capsys, hostile_tree, "validate", "--env", "dev", "--format", fmt)
    assert done.code == 1
    assert_inert_text(done.out, github=fmt == "github")
    assert_inert_text(done.err)
    if fmt in ("json", "sarif"):
        json.loads(done.out)
    if fmt == "text":
        assert_markup_kept(done.out)
        assert "\\x1b[31mred" in done.out  # the source line, escaped and still readable
        assert "\\u202e" in done.out


def test_json_keeps_exact_file_names_and_sarif_uris_are_encoded(
    hostile_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    done = run_qv(capsys, hostile_tree, "validate", "--env", "dev", "--format", "json")
    findings = json.loads(done.out)["findings"]
    files = {f["file"] for f in findings}
    # A readable name is kept exact in JSON (the encoder escapes it), so a tool can open the
    # file; a name with control or bidi characters is QV112 (repo/files.py), shown escaped.
    for text in FILE_NAMES.values():
        path = f"environments/dev/flags/{text}.yaml"
        if bad_name(path) is None:
            assert path in files
        else:
            assert any(f["code"] == "QV112" and f["file"] == escape(path) for f in findings)
    sarif = run_qv(capsys, hostile_tree, "validate", "--env", "dev", "--format", "sarif")
    results = json.loads(sarif.out)["runs"][0]["results"]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
    assert all(uri.isascii() and " " not in uri and "#" not in uri for uri in uris)
    texts = [r["message"]["text"] for r in results]
    # A value's brackets are text: SARIF viewers read "[text](target)" as a link.
    assert any("\\[x\\](javascript:alert(1))" in text for text in texts)


def test_render_errors_are_inert(hostile_tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = run_qv(capsys, hostile_tree, "render", "--env", "dev")
    assert done.code == 1
    assert_inert_text(done.err)


# ---------------------------------------------------------------- bounds


def _big_tree(root: Path) -> Path:
    """A megabyte string in a field a rule rejects, a big mapping where the schema wants a
    string, and a template error in a huge string: each on one line of its file."""
    write_starter(root)
    manifest = root / "qv.yaml"
    # Values over the render bound are QV234 before any rule could quote them: raise both.
    limits = "{max_file_bytes: 16000000, max_render_bytes: 16000000}"
    manifest.write_text(manifest.read_text() + f"  limits: {limits}\n")
    big_value = "Ю" * BIG
    (root / OVERLAY).write_text(
        "spec:\n  parameters:\n"
        f"    rebalance: {{type: enum, value: {big_value}, choices: [daily, weekly]}}\n"
    )
    mapping = ", ".join(f"m{i}: {'Ж' * 50}" for i in range(BIG // 50))
    service = root / SERVICE
    service.write_text(service.read_text() + f"  log_level: {{{mapping}}}\n")
    template = "{{ missing_" + "Ц" * BIG + " }}"
    (root / "environments/dev/configs/other.yaml").write_text(
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: other}\n"
        f"spec:\n  huge: '{template}'\n  broken: '{{{{ {'Щ' * BIG} '\n"
    )
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_output_holds_a_value_in_bulk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    root = _big_tree(tmp_path / "config")
    done = run_qv(capsys, root, "validate", "--env", "dev", "--format", fmt)
    assert done.code == 1
    _assert_bounded(done)
    for filler in "ЮЖЦ" if fmt != "text" else "ЮЖЦЩ":  # Щ: on a source line, in no message
        assert filler in done.out, f"no finding quotes the {filler} value"


def test_render_and_explain_bound_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _big_tree(tmp_path / "config")
    done = run_qv(capsys, root, "render", "--env", "dev")
    assert done.code == 1
    _assert_bounded(done)
    assert "Ц" in done.err


def _assert_bounded(done: QvRun) -> None:
    assert len(done.out) + len(done.err) < 100_000
    for filler in "ЮЖЦЩ":
        for stream in (done.out, done.err):
            assert longest_run(stream, filler) <= EXCERPT
    for line in (done.out + done.err).splitlines():
        # The mapping's value: at most one excerpt of it on a line (not 400 characters in runs
        # of 50 between its keys).
        assert line.count("Ж") <= EXCERPT
    assert raw_unsafe(done.out + done.err) == []
