"""No cache file can decide a result: forged, copied, truncated or damaged, qv ignores it.

Each test plays two "machines" (two XDG_CACHE_HOME folders, so two cache keys) on one real Git
project, running the real ``qv`` executable. Machine A fills a cache, then forges a lie into the
records of one kind of cache file (another parsed value, no findings, other template values,
other rendered documents, other hashes) and seals the lie with its own key. The lie is first
shown to work on machine A (so those records really decide the answer). Then every way the same
files can reach a run must give the answer of a run without any cache: on machine B (the files
committed to the repository, or restored from A's CI cache), in another project of machine A
(the files copied there), and on machine A itself once the files are truncated or one byte of
theirs is flipped.
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

from qv_config.cache import pack
from qv_config.cache.pack import sealer
from qv_config.scaffold import write_starter

CONFIG = "environments/dev/configs/example-service.yaml"
Answer = Callable[[Path, Path], tuple[int, object]]  # (project, key home) -> an answer
Records = dict[str, bytes]


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def qv(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    env.pop("QV_STORE", None)
    done = subprocess.run(
        [QV, "-C", str(root), *args], check=False, env=env, capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The starter project as a Git repository of two commits (max_order_notional 100000 → 7)."""
    root = tmp_path / "proj"
    write_starter(root)  # the tree alone (qv init would also encrypt a dev secret and commit)
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


def only(root: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Delete every cache file but those of ``patterns`` (they must decide alone)."""
    cache = root / ".qv" / "cache"
    keep = {path for pattern in patterns for path in cache.glob(pattern)}
    for path in cache.rglob("*"):
        if path.is_file() and path not in keep:
            path.unlink()
    return sorted(keep)


def _records(root: Path, path: Path) -> Records:
    name = path.relative_to(root / ".qv" / "cache").as_posix()
    found = pack.Pack.open(path, _seal(root, name))
    records = {record: found.get(record) for record in found.numbers}
    found.close()
    assert all(blob is not None for blob in records.values())
    return records  # type: ignore[return-value]


def _seal(root: Path, name: str) -> Any:
    if name == "templates.qvc":
        from qv_config.cache.templates import _jinja_fingerprint

        return sealer(root, name, _jinja_fingerprint())
    return sealer(root, name)


def check_forgeries(
    root: Path,
    tmp: Path,
    patterns: tuple[str, ...],
    answer: Answer,
    lie: Callable[[Records], Records],
) -> None:
    """The whole story for the cache files of ``patterns`` (each forged by ``lie``)."""
    home_a, home_b = tmp / "machine-a", tmp / "machine-b"
    shutil.rmtree(root / ".qv" / "cache", ignore_errors=True)
    truth = answer(root, home_a)  # cold: no cache at all
    files = only(root, patterns)
    assert files, f"machine A left no {patterns}"
    lies: list[bytes] = []  # the forged records' bytes
    with machine(home_a):
        for path in files:
            name = path.relative_to(root / ".qv" / "cache").as_posix()
            records = _records(root, path)
            forged_records = lie(records)
            lies += [v for k, v in forged_records.items() if records.get(k) != v and len(v) > 2]
            pack.write(path, _seal(root, name), forged_records)
    forged = {path: path.read_bytes() for path in files}

    def restore(damage: Callable[[bytes], bytes] = lambda data: data) -> None:
        for path, data in forged.items():
            path.write_bytes(damage(data))
        only(root, patterns)

    restore()
    assert answer(root, home_a) != truth, "the forged records should decide machine A's answer"
    restore()  # as committed to the repository, or restored from A's CI cache
    assert answer(root, home_b) == truth
    copy = tmp / "another-project"
    shutil.copytree(root, copy)  # the files of a project of machine A, copied into another
    assert answer(copy, home_a) == truth
    restore(lambda data: data[:-1])
    assert answer(root, home_a) == truth
    restore(lambda data: _flip(data, lies))
    assert answer(root, home_a) == truth


def _flip(data: bytes, records: list[bytes]) -> bytes:
    """``data`` with one byte flipped in each of ``records`` it holds."""
    out = bytearray(data)
    for record in records:
        at = data.find(record)
        if at >= 0:
            out[at + len(record) // 2] ^= 1
    return bytes(out)


def codes_of_validate(root: Path, home: Path) -> tuple[int, object]:
    done = qv(root, home, "validate", "--format", "json")
    return done.returncode, sorted(f["code"] for f in json.loads(done.stdout)["findings"])


# ---------------------------------------------------------------- what qv validate reports


def test_forged_parsed_value_does_not_pass_an_invalid_tree(project: Path, tmp_path: Path) -> None:
    from qv_config.cache.parse import encode
    from qv_config.repo.source import content_hash
    from qv_config.yamlio import load_bytes

    edit(project, "max_order_notional: 7", "max_order_notional: -5")  # below the schema minimum
    bad = (project / CONFIG).read_bytes()
    good = encode(load_bytes(CONFIG, bad.replace(b"-5", b"7")).data)
    assert good is not None

    def lie(records: Records) -> Records:
        assert content_hash(bad) in records
        return {**records, content_hash(bad): good}

    check_forgeries(project, tmp_path, ("parse.qvc",), codes_of_validate, lie)
    assert codes_of_validate(project, tmp_path / "machine-b")[0] == 1


def test_forged_stat_index_does_not_hide_an_edit(project: Path, tmp_path: Path) -> None:
    from tests.starter import age

    from qv_config.cache.parse import encode
    from qv_config.repo.source import content_hash
    from qv_config.yamlio import load_bytes

    valid = (project / CONFIG).read_bytes()
    value = encode(load_bytes(CONFIG, valid).data)
    assert value is not None
    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    age(project)  # old enough for its stat to be recorded (cache.tree)

    def lie(records: Records) -> Records:
        if "tree" not in records:  # the parsed value of the file when it was valid
            return {**records, content_hash(valid): value}
        state = list(marshal.loads(records["tree"]))
        at = state[3].split("\0").index(CONFIG)
        digests = bytearray(state[5])
        digests[40 * at : 40 * at + 40] = content_hash(valid).encode()  # "unchanged since"
        state[5], state[8] = bytes(digests), None  # and no kept result: load the tree
        return {"tree": marshal.dumps(tuple(state))}

    check_forgeries(project, tmp_path, ("tree.qvc", "parse.qvc"), codes_of_validate, lie)


def test_forged_blob_ids_do_not_change_a_revision(project: Path, tmp_path: Path) -> None:
    from qv_config.cache.parse import encode
    from qv_config.repo.source import content_hash
    from qv_config.yamlio import load_bytes

    edit(project, "max_order_notional: 7", "max_order_notional: 9")
    git(project, "commit", "-qam", "notional 9")
    blob = subprocess.run(
        ["git", "rev-parse", f"HEAD:{CONFIG}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    other = (
        (project / CONFIG).read_bytes().replace(b"max_order_notional: 9", b"max_order_notional: 1")
    )
    value = encode(load_bytes(CONFIG, other).data)
    assert value is not None

    def lie(records: Records) -> Records:
        if "blobs" not in records:  # a value for other bytes...
            return {**records, content_hash(other): value}
        settings, blobs = marshal.loads(records["blobs"])
        assert blob in blobs
        blobs[blob] = content_hash(other)  # ...said to be the revision's blob
        return {"blobs": marshal.dumps((settings, blobs))}

    def answer(root: Path, home: Path) -> tuple[int, object]:
        done = qv(root, home, "render", "--env", "dev", "--rev", "HEAD", "--format", "json")
        return done.returncode, done.stdout

    check_forgeries(project, tmp_path, ("blobs.qvc", "parse.qvc"), answer, lie)


def _no_findings(row: bytes) -> bytes:
    """An environment's row saying it found nothing (``cache.results.EnvRow``)."""
    state = list(marshal.loads(row))
    state[4:7] = [(), (), ((), ())]  # the renderer's, the records', the cross rules' findings
    return marshal.dumps(tuple(state))


def test_forged_results_do_not_pass_an_invalid_tree(project: Path, tmp_path: Path) -> None:
    edit(project, "max_order_notional: 7", "max_order_notional: -5")

    def lie(records: Records) -> Records:  # no finding in any environment
        return {**records, "row": _no_findings(records["row"])}

    check_forgeries(project, tmp_path, ("validate-*.qvc",), codes_of_validate, lie)


def test_forged_whole_results_do_not_pass_an_invalid_tree(project: Path, tmp_path: Path) -> None:
    from tests.starter import age

    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    age(project)  # old enough for the stat of every file to vouch for it (cache.tree)

    def lie(records: Records) -> Records:
        state = list(marshal.loads(records["tree"]))
        summary = list(state[8])
        summary[5] = {key: (((), row[1], 0, 0, *row[4:]), reads) for key, (row, reads) in
                      summary[5].items()}  # fmt: skip
        state[8] = tuple(summary)  # "valid"
        return {"tree": marshal.dumps(tuple(state))}

    check_forgeries(project, tmp_path, ("tree.qvc",), codes_of_validate, lie)


def test_forged_document_records_do_not_pass_an_invalid_tree(project: Path, tmp_path: Path) -> None:
    edit(project, "max_order_notional: 7", "max_order_notional: -5")

    def lie(records: Records) -> Records:
        out = {**records}
        state = list(marshal.loads(_no_findings(records["row"])))
        state[1] = "changed"  # every environment to be checked again, from its records
        out["row"] = marshal.dumps(tuple(state))
        for name, blob in records.items():
            if name.startswith("s") and name[1:].isdigit():
                docs = marshal.loads(blob)
                docs = {path: (*record[:8], (), *record[9:]) for path, record in docs.items()}
                out[name] = marshal.dumps(docs)
        return out

    check_forgeries(project, tmp_path, ("validate-*.qvc",), codes_of_validate, lie)


# ------------------------------------------------------ what qv render, diff and drift show


def test_forged_template_values_are_not_rendered(project: Path, tmp_path: Path) -> None:
    def lie(records: Records) -> Records:
        values = marshal.loads(records["values"])
        return {"values": marshal.dumps(dict.fromkeys(values, marshal.dumps("forged")))}

    def answer(root: Path, home: Path) -> tuple[int, object]:
        qv(root, home, "validate")  # the run that reads (and fills) the template values
        done = qv(root, home, "validate", "--format", "json")
        rendered = qv(root, home, "render", "--env", "dev", "--format", "json")
        return done.returncode, (done.stdout, rendered.stdout)

    edit(project, "max_order_notional: 7", "max_order_notional: 8")  # rendered again each run
    check_forgeries(project, tmp_path, ("templates.qvc",), answer, lie)


def test_forged_rendered_states_are_not_shown(project: Path, tmp_path: Path) -> None:
    def lie(records: Records) -> Records:
        problem, _refs, schemas = marshal.loads(records["state"])
        return {"state": marshal.dumps((problem, {}, schemas))}

    def answer(root: Path, home: Path) -> tuple[int, object]:
        done = qv(root, home, "log", "--env", "dev", "--format", "json")
        return done.returncode, done.stdout

    check_forgeries(project, tmp_path, ("render/*.qvc",), answer, lie)


def test_forged_desired_hashes_are_not_compared(project: Path, tmp_path: Path) -> None:
    git(project, "reset", "-q", "--hard", "HEAD~1")  # deploy the first commit...
    assert qv(project, tmp_path / "machine-a", "sync", "--env", "dev").returncode == 0
    edit(project, "max_order_notional: 100000", "max_order_notional: 7")
    git(project, "commit", "-qam", "notional 7")  # ...so that the tip is pending

    def lie(records: Records) -> Records:
        digest, hashes = marshal.loads(records["state"])
        return {"state": marshal.dumps((digest, dict.fromkeys(hashes, "0" * 64)))}

    def answer(root: Path, home: Path) -> tuple[int, object]:
        done = qv(root, home, "drift", "--env", "dev", "--format", "json")
        report = json.loads(done.stdout)
        report.pop("store")  # the project's own .qv/state.db
        return done.returncode, report

    check_forgeries(project, tmp_path, ("desired/*.qvc",), answer, lie)


# ------------------------------------------------------------------- a .qv/ in the repository


def test_a_committed_cache_is_ignored_by_a_fresh_ci_run(project: Path, tmp_path: Path) -> None:
    attacker = tmp_path / "attacker-home"
    assert qv(project, attacker, "validate").returncode == 0  # a .qv/ of a valid tree...
    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    for path in (project / ".qv" / "cache").glob("validate-*.qvc"):  # ...forged to hide it
        with machine(attacker):
            records = _records(project, path)
            records["row"] = _no_findings(records["row"])
            pack.write(path, _seal(project, path.name), records)
    git(project, "add", "-f", ".qv")
    git(project, "commit", "-qam", "notional -5, and a cache")
    clone = tmp_path / "ci" / "proj"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    assert list((clone / ".qv" / "cache").glob("validate-*.qvc"))
    ci_home = tmp_path / "ci-home"  # a fresh CI runner: its own (new) key
    done = qv(clone, ci_home, "validate", "--format", "json")
    fresh = qv(clone, ci_home, "validate", "--no-cache", "--format", "json")
    assert done.returncode == fresh.returncode == 1
    assert json.loads(done.stdout)["findings"] == json.loads(fresh.stdout)["findings"]
    assert "QV310" in done.stdout


@pytest.mark.parametrize("link", [".qv", ".qv/cache", ".qv/cache/render"])
def test_a_committed_cache_link_is_never_written_through(
    project: Path, tmp_path: Path, link: str
) -> None:
    """A ``.qv`` (or a folder under it) that is a link would have qv write its caches wherever
    the link points (another project, a home folder): caches are off instead."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(project / ".qv", ignore_errors=True)
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(elsewhere, target_is_directory=True)
    home = tmp_path / "home"
    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    for args in (
        ("validate",),
        ("validate",),
        ("render", "--env", "dev"),
        ("diff", "dev@HEAD~1", "dev"),
    ):
        qv(project, home, *args)
    assert list(elsewhere.rglob("*")) == []
    assert codes_of_validate(project, home)[0] == 1


def test_no_writable_home_means_no_caches_and_no_traceback(project: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "a-file"
    nowhere.write_text("XDG_CACHE_HOME points at a file: no key can be made under it")
    edit(project, "max_order_notional: 7", "max_order_notional: -5")
    cold = codes_of_validate(project, tmp_path / "machine-a")  # also leaves A's caches behind
    for _ in range(2):
        assert codes_of_validate(project, nowhere) == cold
    assert cold[0] == 1
    shutil.rmtree(project / ".qv")
    assert codes_of_validate(project, nowhere) == cold
    assert not [p for p in (project / ".qv").rglob("*") if p.is_file() and "cache" in p.parts]
    for args in (("render", "--env", "dev"), ("diff", "dev@HEAD~1", "dev@HEAD")):
        done = qv(project, nowhere, *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout


# ------------------------------------------------------------------------- data, never code


def _plain(value: object) -> bool:
    """Plain data all the way down (bytes inside a record are data too: decoded when they can
    be); never a code object or anything else that could run."""
    import types

    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return all(map(_plain, value))
    if isinstance(value, bytes):
        try:
            inner = marshal.loads(value)
        except (EOFError, ValueError, TypeError):
            return True  # not marshal: plain bytes
        return not isinstance(inner, types.CodeType) and _plain(inner)
    return value is None or type(value) in (str, int, float, bool)


def test_no_cache_record_holds_code(project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    for args in (
        ("validate",),
        ("render", "--env", "dev", "--format", "json"),
        ("log", "--env", "dev"),
        ("diff", "dev@HEAD~1", "dev"),
        ("sync", "--env", "dev"),
        ("drift", "--env", "dev"),
    ):
        assert qv(project, home, *args).returncode == 0, args
    files = sorted((project / ".qv" / "cache").rglob("*.qvc"))
    kinds = {path.relative_to(project / ".qv" / "cache").parts[0].split("-")[0] for path in files}
    expected = {"parse.qvc", "tree.qvc", "blobs.qvc", "validate.qvc", "validate", "templates.qvc"}
    assert expected <= kinds
    assert {"render", "desired"} <= kinds
    with machine(home):
        for path in files:
            for name, blob in _records(project, path).items():
                assert _plain(marshal.loads(blob)), (path, name)
    assert not list((project / ".qv").rglob("schemacode"))
