"""The on-disk cache of compiled service-schema validators (``validate.schemacode``).

Every test uses real files under a tmp ``.qv/``; a cache *hit* is proven by planting a file that
is sound for one schema but holds another schema's code: only a reader that trusts the file
(right format, key and checksum) can return that other behaviour.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import shutil
import subprocess
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from tests.qvbin import QV

from qv_config.repo.statefile import read_state_file, write_state_file
from qv_config.scaffold import write_starter
from qv_config.validate import schemacode

PORT = {"type": "object", "properties": {"port": {"type": "integer", "maximum": 100}}}
STRICT = {"type": "object", "additionalProperties": False}
DIGEST_PORT = hashlib.sha256(json.dumps(PORT).encode()).hexdigest()
DIGEST_STRICT = hashlib.sha256(json.dumps(STRICT).encode()).hexdigest()


def _folder(tmp_path: Path) -> Path:
    folder = schemacode.folder_of(tmp_path)
    assert folder is not None
    return folder


def _file(folder: Path, digest: str) -> Path:
    return folder / f"{schemacode.cache_key(digest)}.bin"


def _accepts(validator: Any, value: Any) -> bool:
    try:
        validator(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _port_validator(folder: Path | None) -> Any:
    validator = schemacode.compile_validator(DIGEST_PORT, PORT, folder)
    assert validator is not None
    return validator


def test_miss_compiles_and_writes_one_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    validator = _port_validator(folder)
    assert _accepts(validator, {"port": 80})
    assert not _accepts(validator, {"port": 8080})
    assert [p.name for p in folder.iterdir()] == [_file(folder, DIGEST_PORT).name]
    # The state folder ignores itself in Git.
    assert (tmp_path / ".qv" / ".gitignore").is_file()


def test_hit_runs_the_stored_code_without_rewriting(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    # Sound for PORT's key, but holding STRICT's code: trusted, so STRICT's behaviour shows.
    planted = _folder(tmp_path / "elsewhere")
    schemacode.compile_validator(DIGEST_STRICT, STRICT, planted)
    blob = _file(planted, DIGEST_STRICT).read_bytes()
    key_line = schemacode.cache_key(DIGEST_STRICT).encode()
    blob = blob.replace(key_line, schemacode.cache_key(DIGEST_PORT).encode(), 1)
    folder.mkdir(parents=True)
    _file(folder, DIGEST_PORT).write_bytes(blob)
    before = _file(folder, DIGEST_PORT).stat().st_mtime_ns
    validator = _port_validator(folder)
    assert not _accepts(validator, {"port": 80})  # STRICT refuses any property
    assert _accepts(validator, {})
    assert _file(folder, DIGEST_PORT).stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b[:-10] + bytes(10), id="payload-bytes-changed"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b"\x00\xff garbage", id="garbage"),
        pytest.param(lambda b: b.replace(b"qv-schemacode-1", b"qv-schemacode-0", 1), id="format"),
    ],
)
def test_corrupt_file_falls_back_to_compiling(tmp_path: Path, damage: Any) -> None:
    folder = _folder(tmp_path)
    _port_validator(folder)
    path = _file(folder, DIGEST_PORT)
    good = path.read_bytes()
    path.write_bytes(damage(good))
    validator = _port_validator(folder)
    assert _accepts(validator, {"port": 80})
    assert not _accepts(validator, {"port": 8080})
    assert path.read_bytes() == good  # rewritten whole


def _sealed(path: Path, key: str, payload: bytes) -> None:
    """A file as this user's qv would write it, with any payload."""
    checksum = hashlib.sha256(payload).hexdigest().encode()
    write_state_file(path, b"\n".join((b"qv-schemacode-1", key.encode(), checksum, payload)))


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"not marshal data", id="not-marshal"),
        pytest.param(marshal.dumps(42), id="not-code"),
        pytest.param(marshal.dumps(compile("x = 1", "<t>", "exec")), id="no-entry"),
        pytest.param(marshal.dumps(compile("raise ValueError", "<t>", "exec")), id="raises"),
    ],
)
def test_sound_file_with_unusable_content_falls_back(tmp_path: Path, payload: bytes) -> None:
    folder = _folder(tmp_path)
    _sealed(_file(folder, DIGEST_PORT), schemacode.cache_key(DIGEST_PORT), payload)
    validator = _port_validator(folder)
    assert not _accepts(validator, {"port": 8080})


def test_file_not_sealed_by_this_user_is_never_run(tmp_path: Path) -> None:
    """A .qv/ committed to the repository (or restored from another machine) could carry any
    code: a file with the right format, key and checksum but without this user's seal is
    ignored and overwritten."""
    folder = _folder(tmp_path)
    folder.mkdir(parents=True)
    code = compile("def validate(data):\n    return data\n", "<forged>", "exec")
    payload = marshal.dumps(code)
    checksum = hashlib.sha256(payload).hexdigest().encode()
    key = schemacode.cache_key(DIGEST_PORT).encode()
    forged = b"\n".join((b"qv-schemacode-1", key, checksum, payload))
    _file(folder, DIGEST_PORT).write_bytes(forged)  # accepts anything, if it were run
    validator = _port_validator(folder)
    assert not _accepts(validator, {"port": 8080})
    assert read_state_file(_file(folder, DIGEST_PORT)) is not None  # replaced by a sealed one


def test_file_of_another_key_is_never_trusted(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    schemacode.compile_validator(DIGEST_STRICT, STRICT, folder)
    # STRICT's whole, sound file copied under PORT's name: its key line does not match.
    _file(folder, DIGEST_PORT).write_bytes(_file(folder, DIGEST_STRICT).read_bytes())
    validator = _port_validator(folder)
    assert _accepts(validator, {"port": 80})
    assert schemacode.cache_key(DIGEST_PORT).encode() in _file(folder, DIGEST_PORT).read_bytes()


def test_key_covers_schema_and_versions() -> None:
    assert schemacode.cache_key(DIGEST_PORT) != schemacode.cache_key(DIGEST_STRICT)
    assert schemacode.cache_key(DIGEST_PORT) == schemacode.cache_key(DIGEST_PORT)


def test_deleted_state_folder_is_rebuilt(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    _port_validator(folder)
    shutil.rmtree(tmp_path / ".qv")
    assert _accepts(_port_validator(folder), {"port": 1})
    assert _file(folder, DIGEST_PORT).is_file()


def test_unwritable_state_folder_only_costs_time(tmp_path: Path) -> None:
    (tmp_path / ".qv").write_text("a file where the folder should be")
    validator = _port_validator(_folder(tmp_path))
    assert not _accepts(validator, {"port": 8080})


def test_no_folder_means_no_disk_cache(tmp_path: Path) -> None:
    assert schemacode.folder_of(None) is None
    assert not _accepts(_port_validator(None), {"port": 8080})


def test_refused_schema_is_none_and_not_stored(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    bad = {"type": "object", "properties": {"a": {"type": "no-such-type"}}}
    assert schemacode.compile_validator("bad", bad, folder) is None
    assert not folder.exists() or not any(folder.iterdir())


def test_validation_never_inserts_defaults(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"pool": {"type": "integer", "default": 5}}}
    validator = schemacode.compile_validator("defaults", schema, _folder(tmp_path))
    assert validator is not None
    spec: dict[str, Any] = {}
    validator(spec)
    assert spec == {}


# ------------------------------------------------------------------ through `qv validate`


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    root.mkdir()
    write_starter(root)
    return root


def _qv(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A fresh process each time: compiled validators are also memoised per process.
    return subprocess.run([QV, "-C", str(root), *args], check=False, capture_output=True, text=True)


def _break_replicas(root: Path) -> None:
    path = root / "environments" / "prod" / "configs" / "example-service.yaml"
    path.write_text(path.read_text().replace("spec:\n", "spec:\n  replicas: 0\n", 1))


def test_validate_writes_reads_and_survives_the_cache(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _break_replicas(root)
    cold = _qv(root, "validate", "--format", "json")
    folder = root / ".qv" / "cache" / "schemacode"
    files = list(folder.glob("*.bin"))
    assert len(files) == 1
    assert cold.returncode == 1
    assert "QV310" in cold.stdout
    results = root / ".qv" / "cache" / "validate.marshal"
    results.unlink(missing_ok=True)  # the result cache would answer without the schemas
    warm = _qv(root, "validate", "--format", "json")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    files[0].write_bytes(files[0].read_bytes()[:100])  # damaged between runs
    results.unlink(missing_ok=True)
    again = _qv(root, "validate", "--format", "json")
    assert (again.returncode, again.stdout) == (cold.returncode, cold.stdout)
    assert "Traceback" not in again.stderr
    assert len(files[0].read_bytes()) > 100  # rewritten


def test_validate_no_cache_writes_no_code(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = _qv(root, "validate", "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (root / ".qv" / "cache" / "schemacode").exists()
