"""qv.yaml on a cold load with parse workers: loading starts on what its raw value says (bases,
YAML limits) and the model is built while the workers parse; an invalid qv.yaml, whose raw
value says otherwise than the defaults the load must then use, loads again on the defaults and
gives exactly the snapshot of a serial load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.repo.test_repo_prefetch import _summary

from qv_config.repo import WorkTreeSource, load_snapshot, manifest, prefetch
from qv_config.repo.types import Snapshot
from qv_config.scaffold import write_starter
from qv_config.yamlio import Limits


@pytest.mark.parametrize(
    ("raw", "guess"),
    [
        ({"spec": {"environments": ["dev"]}}, (("strategies",), Limits())),
        (
            {"spec": {"bases": ["a", "b"], "limits": {"max_file_bytes": 9, "other": "x"}}},
            (("a", "b"), Limits(max_file_bytes=9)),
        ),
        ({"spec": {"limits": {"max_alias_nodes": None}}}, (("strategies",), Limits())),
        ({"spec": {"bases": "strategies"}}, None),
        ({"spec": {"bases": [1]}}, None),
        ({"spec": {"limits": {"max_file_bytes": "9"}}}, None),
        ({"spec": {"limits": {"max_file_bytes": True}}}, None),
        ({"spec": {"limits": []}}, None),
        ({"spec": None}, None),
        (["spec"], None),
    ],
)
def test_the_guess_is_taken_only_from_a_plain_raw_value(raw: Any, guess: object) -> None:
    assert manifest._guess(raw) == guess


def _load(root: Path, monkeypatch: pytest.MonkeyPatch, jobs: str) -> Snapshot:
    monkeypatch.setenv("QV_JOBS", jobs)
    return load_snapshot(WorkTreeSource(root), use_cache=False)


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Events: ("fork", _) per worker run, ("model", whether workers were running)."""
    events: list[tuple[str, bool]] = []
    running = [False]
    real_workers, real_validate = prefetch.forked, manifest._validate

    def forked(*args: Any, **kwargs: Any) -> Any:
        events.append(("fork", True))
        running[0] = True
        try:
            return real_workers(*args, **kwargs)
        finally:
            running[0] = False

    def validate(*args: Any) -> Any:
        events.append(("model", running[0]))
        return real_validate(*args)

    monkeypatch.setattr(prefetch, "forked", forked)
    monkeypatch.setattr(manifest, "_validate", validate)
    return events


def test_the_model_is_built_while_the_workers_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_starter(tmp_path)
    serial = _load(tmp_path, monkeypatch, "1")
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    events = _spied(monkeypatch)
    forked = _load(tmp_path, monkeypatch, "2")
    assert events == [("fork", True), ("model", True)]
    assert _summary(forked) == _summary(serial)
    assert forked.project_info == serial.project_info
    assert forked.project.spec.bases == ["strategies"]


def test_an_invalid_qv_yaml_loads_again_on_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_starter(tmp_path)
    qv_yaml = tmp_path / "qv.yaml"
    # Invalid (no environment), and its raw bases are not the default the load must use.
    text = qv_yaml.read_text().replace("[dev, staging, prod]", "[]")
    qv_yaml.write_text(text.replace("bases: [strategies]", "bases: [environments/dev]"))
    (tmp_path / "strategies" / "big.yaml").write_text("a: " + "x" * 50 + "\n")
    serial = _load(tmp_path, monkeypatch, "1")
    assert [f.code for f in serial.findings if f.code == "QV205"] == ["QV205"]
    monkeypatch.setattr(prefetch, "_MIN_FILES", 0)
    events = _spied(monkeypatch)
    forked = _load(tmp_path, monkeypatch, "2")
    assert events[:2] == [("fork", True), ("model", True)]
    assert events.count(("fork", True)) == 2  # parsed again, on the defaults
    assert _summary(forked) == _summary(serial)
    assert "strategies/big.yaml" in forked.bases


def test_raw_bases_are_read_as_the_model_defaults_them() -> None:
    assert manifest.raw_bases({"spec": {}}) == ("strategies",)
    assert manifest.raw_bases({"spec": {"bases": []}}) == ()
    assert manifest.raw_bases({"spec": {"bases": ["a", 1]}}) is None
    assert manifest.raw_bases({"kind": "Project"}) is None
