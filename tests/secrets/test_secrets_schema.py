"""The schema constraints of secret fields: checked against the plaintext when a key is at hand,
skipped (never failed) against ciphertext without one, and never quoted in a message.

A real project (`qv init`), a real age key, files encrypted by the real sops; `qv validate` runs
end to end, once without a key and once with ``SOPS_AGE_KEY_FILE`` (the result cache must not
carry one run's answer into the other).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qv_config.scaffold import write_starter
from qv_config.secrets import generate_identity, key_file_text

from .conftest import Result

SCHEMA = "schemas/configs/example-service.schema.json"
DOC = "environments/dev/configs/example-service.yaml"
SECRET_FIELDS = {
    "api_key": {"type": "string", "minLength": 12, "pattern": "^sk-", "x-qv-secret": True},
    "pin": {"type": "integer", "maximum": 9999, "x-qv-secret": True},
}


def _project(root: Path, qv: Callable[..., Result], api_key: str, pin: int) -> Path:
    """A project whose dev Config holds ``api_key`` and ``pin``, encrypted; returns its key."""
    write_starter(root)  # the starter tree alone: this test makes its own keys and rules
    identity = generate_identity()
    key = root.parent / "dev.agekey"
    key.write_text(key_file_text(identity))
    recipients = {"dev": identity.recipient}
    recipients |= {env: generate_identity().recipient for env in ("staging", "prod")}
    rules = [f"  - path_regex: ^environments/{e}/.*\n    age: {r}\n" for e, r in recipients.items()]
    (root / ".sops.yaml").write_text("creation_rules:\n" + "".join(rules))
    schema = json.loads((root / SCHEMA).read_text())
    schema["properties"].update(SECRET_FIELDS)
    (root / SCHEMA).write_text(json.dumps(schema))
    doc = root / DOC
    doc.write_text(doc.read_text() + f"  api_key: {api_key}\n  pin: {pin}\n")
    assert qv("secrets", "encrypt", str(doc)).code == 0
    assert api_key not in doc.read_text()
    return key


def _validate(qv: Callable[..., Result], root: Path, key: Path | None, mp: Any) -> list[Any]:
    if key is None:
        mp.delenv("SOPS_AGE_KEY_FILE", raising=False)
    else:
        mp.setenv("SOPS_AGE_KEY_FILE", str(key))
    result = qv("-C", str(root), "validate", "--format", "json")
    assert "Traceback" not in result.err
    findings: list[Any] = json.loads(result.out)["findings"]
    assert result.code == (1 if any(f["severity"] == "error" for f in findings) else 0)
    return findings


def _schema_findings(findings: list[Any]) -> list[tuple[str, str]]:
    return sorted((f["code"], f["field"]) for f in findings if f["code"].startswith("QV3"))


def test_good_secrets_pass_with_and_without_the_key(
    tmp_path: Path, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    key = _project(root, qv, "sk-live-0123456789", 1234)
    # Without a key the ciphertext was checked as a string: too long for nothing, not "sk-..."
    # for the pattern, not an integer for ``pin``: three false QV310s.
    assert _schema_findings(_validate(qv, root, None, monkeypatch)) == []
    assert _schema_findings(_validate(qv, root, key, monkeypatch)) == []


def test_bad_secrets_fail_with_the_key_and_are_never_quoted(
    tmp_path: Path, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    key = _project(root, qv, "pk-short", 123456)
    for _ in range(2):  # cold, then from the result cache: the key changes the answer
        assert _schema_findings(_validate(qv, root, None, monkeypatch)) == []
        found = _validate(qv, root, key, monkeypatch)
        assert _schema_findings(found) == [
            ("QV310", "spec.api_key"),
            ("QV310", "spec.api_key"),
            ("QV310", "spec.pin"),
        ]
        lines = (root / DOC).read_text().splitlines()
        for finding in found:
            assert finding["file"] == DOC
            field = finding["field"].removeprefix("spec.")
            assert lines[finding["line"] - 1].lstrip().startswith(f"{field}: ENC[")
            assert "pk-short" not in finding["message"]
            assert "123456" not in finding["message"]
        messages = " ".join(f["message"] for f in found if f["code"] == "QV310")
        assert "(secret)" in messages


def test_a_plaintext_secret_passes_its_type_only_decrypted(
    tmp_path: Path, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ciphertext of an integer is a string: a ``type: string`` field holding an encrypted
    integer passed for the wrong reason; decrypted, it fails."""
    root = tmp_path / "proj"
    key = _project(root, qv, "sk-live-0123456789", 42)
    schema = json.loads((root / SCHEMA).read_text())
    schema["properties"]["pin"] = {"type": "string", "x-qv-secret": True}
    (root / SCHEMA).write_text(json.dumps(schema))
    assert _schema_findings(_validate(qv, root, None, monkeypatch)) == []
    found = _validate(qv, root, key, monkeypatch)
    assert _schema_findings(found) == [("QV310", "spec.pin")]
    assert "42" not in next(f["message"] for f in found if f["code"] == "QV310")


def test_a_tampered_secret_is_qv603_and_not_checked(
    tmp_path: Path, qv: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    key = _project(root, qv, "pk-short", 1234)
    doc = root / DOC
    text = doc.read_text()
    at = text.index("api_key: ENC[AES256_GCM,data:") + len("api_key: ENC[AES256_GCM,data:")
    doc.write_text(text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :])
    found = _validate(qv, root, key, monkeypatch)
    assert ("QV603", DOC) in {(f["code"], f["file"]) for f in found}
    assert _schema_findings(found) == []  # the file does not open: its secrets stay sealed
