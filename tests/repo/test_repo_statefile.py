"""Every cache under ``.qv/`` is sealed: a file qv did not write for this user is never trusted.

Each test plays two "machines" (two XDG_CACHE_HOME folders, so two seal keys) on one real Git
project, running the real ``qv`` executable. Machine A fills a cache, then forges a lie into it
(a different parsed value, no findings, other rendered documents, other hashes, other template
values) and seals the lie with its own key. The lie is first shown to work on machine A (so the
cache really decides the answer), then machine B, which finds the same ``.qv/`` (committed to the
repository, or restored from A's CI cache), must give the answer of a run without any cache; and
on machine A too once the same lie lacks the seal.
"""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.qvbin import QV
from tests.sealing import machine

from qv_config.repo import statefile

CONFIG = "environments/dev/configs/example-service.yaml"
Answer = Callable[
    [Path], tuple[int, object]
]  # the answer of one command on the machine with this key home


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def qv(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    env.pop("QV_STORE", None)
    done = subprocess.run(
        [QV, "-C", str(root), *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The starter project as a Git repository of two commits (max_order_notional 100000 → 7)."""
    root = tmp_path / "proj"
    qv(tmp_path, tmp_path / "setup-home", "init", str(root))
    shutil.rmtree(root / ".qv", ignore_errors=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    edit(root, "max_order_notional: 100000", "max_order_notional: 7")
    git(root, "commit", "-qam", "notional 7")
    return root


def edit(root: Path, old: str, new: str) -> None:
    path = root / CONFIG
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def only(root: Path, pattern: str) -> list[Path]:
    """Delete every cache file but the ones of the kind under test (they must decide alone)."""
    cache = root / ".qv" / "cache"
    keep = set(cache.glob(pattern))
    for path in cache.rglob("*"):
        if path.is_file() and path not in keep:
            path.unlink()
    return sorted(keep)


def check_sealed(
    root: Path, tmp: Path, pattern: str, answer: Answer, lie: Callable[[bytes], bytes]
) -> None:
    """The whole two-machine story for the cache files matching ``pattern``."""
    home_a, home_b = tmp / "machine-a", tmp / "machine-b"
    shutil.rmtree(root / ".qv" / "cache", ignore_errors=True)
    truth = answer(home_a)  # cold: no cache at all
    files = only(root, pattern)
    assert files, f"machine A left no {pattern}"
    with machine(home_a):
        forged = {}
        for path in files:
            payload = statefile.read_state_file(path)
            assert payload is not None
            forged[path] = lie(payload)
            statefile.write_state_file(path, forged[path])
        sealed = {path: path.read_bytes() for path in files}
    only(root, pattern)
    assert answer(home_a) != truth, "the forged cache should decide machine A's answer"
    for path, blob in sealed.items():  # as committed to the repository / restored in CI
        path.write_bytes(blob)
    only(root, pattern)
    assert answer(home_b) == truth
    for path, payload in forged.items():  # the same lie without any seal
        path.write_bytes(payload)
    only(root, pattern)
    assert answer(home_a) == truth


def marshal_lie(change: Callable[[Any], Any]) -> Callable[[bytes], bytes]:
    return lambda payload: marshal.dumps(change(marshal.loads(payload)))


def validate_answer(root: Path) -> Answer:
    def run(home: Path) -> tuple[int, object]:
        done = qv(root, home, "validate", "--format", "json")
        codes = sorted(f["code"] for f in json.loads(done.stdout)["findings"])
        return done.returncode, codes

    return run


# ---------------------------------------------------------------- what qv validate reports


def test_forged_parse_value_does_not_pass_an_invalid_tree(project: Path, tmp_path: Path) -> None:
    import hashlib

    from qv_config.repo.parsecache import encode_blob, pack_payload, unpack_payload
    from qv_config.yamlio import load_bytes

    edit(project, "max_order_notional: 7", "max_order_notional: -5")  # below the schema minimum
    bad = (project / CONFIG).read_bytes()
    good = load_bytes(CONFIG, bad.replace(b"-5", b"7")).data
    digest = hashlib.blake2b(bad, digest_size=20).hexdigest()

    def lie(payload: bytes) -> bytes:
        stored = unpack_payload(payload)
        assert stored is not None
        blobs, settings, stats = stored
        assert digest in blobs
        return pack_payload({**blobs, digest: encode_blob(good) or b""}, settings, stats)

    answer = validate_answer(project)
    check_sealed(project, tmp_path, "parse.bin", answer, lie)
    assert answer(tmp_path / "machine-b")[0] == 1


def _no_findings(stored: Any) -> Any:
    """The light result cache of an invalid tree, rewritten to hold no finding at all (an
    unchanged tree is answered from it alone: the heavy files are not read)."""
    header, records, schemas_ok, models_ok = stored
    rows = {env: (*row[:3], (), *row[4:]) for env, row in records.items()}
    return header, rows, schemas_ok, models_ok


def test_forged_results_do_not_pass_an_invalid_tree(project: Path, tmp_path: Path) -> None:
    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    answer = validate_answer(project)
    check_sealed(project, tmp_path, "validate.marshal", answer, marshal_lie(_no_findings))


# ------------------------------------------------------ what qv render, diff and drift show


def test_forged_template_values_are_not_rendered(project: Path, tmp_path: Path) -> None:
    def lie(stored: Any) -> Any:
        header, codes, values = stored
        return header, codes, {key: marshal.dumps("forged") for key in values}

    def answer(home: Path) -> tuple[int, object]:
        done = qv(project, home, "render", "--env", "dev", "--format", "json")
        return done.returncode, done.stdout

    check_sealed(project, tmp_path, "templates.marshal", answer, marshal_lie(lie))


def test_forged_rendered_states_are_not_shown(project: Path, tmp_path: Path) -> None:
    def lie(stored: Any) -> Any:
        fmt, key, problem, _refs = stored
        return fmt, key, problem, {}

    def answer(home: Path) -> tuple[int, object]:
        done = qv(project, home, "log", "--env", "dev", "--format", "json")
        return done.returncode, done.stdout

    check_sealed(project, tmp_path, "render/*.bin", answer, marshal_lie(lie))


def test_forged_desired_hashes_are_not_compared(project: Path, tmp_path: Path) -> None:
    from qv_config.store.layout import digest_of

    home_a = tmp_path / "machine-a"
    git(project, "reset", "-q", "--hard", "HEAD~1")  # deploy the first commit...
    assert qv(project, home_a, "sync", "--env", "dev").returncode == 0
    edit(project, "max_order_notional: 100000", "max_order_notional: 7")
    git(project, "commit", "-qam", "notional 7")  # ...so that the tip is pending

    def lie(stored: Any) -> Any:
        fmt, env, key, _digest, hashes = stored
        hashes = dict.fromkeys(hashes, "0" * 64)
        return fmt, env, key, digest_of(hashes), hashes

    def answer(home: Path) -> tuple[int, object]:
        done = qv(project, home, "drift", "--env", "dev", "--format", "json")
        return done.returncode, json.loads(done.stdout)

    check_sealed(project, tmp_path, "desired/*.bin", answer, marshal_lie(lie))


# ------------------------------------------------------------------ no place to keep a key


def test_no_writable_home_means_no_caches_and_no_traceback(project: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "a-file"
    nowhere.write_text("XDG_CACHE_HOME points at a file: no key can be made under it")
    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    answer = validate_answer(project)
    cold = answer(tmp_path / "machine-a")  # also leaves caches sealed by machine A behind
    for _ in range(2):
        assert answer(nowhere) == cold
    assert cold[0] == 1
    shutil.rmtree(project / ".qv")
    assert answer(nowhere) == cold
    assert not [p for p in (project / ".qv").rglob("*") if p.is_file() and "cache" in p.parts]
    for args in (("render", "--env", "dev"), ("diff", "dev@HEAD~1", "dev@HEAD")):
        done = qv(project, nowhere, *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout


def test_a_sealed_file_reads_back_only_on_its_machine(tmp_path: Path) -> None:
    path = tmp_path / "proj" / ".qv" / "cache" / "some.bin"
    with machine(tmp_path / "machine-a"):
        statefile.write_state_file(path, b"payload")
        assert statefile.read_state_file(path) == b"payload"
        assert (tmp_path / "proj" / ".qv" / ".gitignore").is_file()
        assert path.read_bytes() != b"payload"  # sealed: the file starts with this user's token
    with machine(tmp_path / "machine-b"):
        assert statefile.read_state_file(path) is None
    with machine(tmp_path / "a-file-as-home"):
        (tmp_path / "a-file-as-home").write_text("")
        assert statefile.read_state_file(path) is None
        statefile.write_state_file(path, b"other")  # no key: nothing is written
    with machine(tmp_path / "machine-a"):
        assert statefile.read_state_file(path) == b"payload"
