"""Secret fields in ``qv diff``, ``qv review`` and ``qv log`` (SPEC §8).

A real Git repository holding a copy of this project's tree (its .sops.yaml and the demo dev key),
real sops. History: C0 the tree as it is; C1 dev's order-management file re-encrypted with
``qv secrets rotate`` (every ciphertext new, every value the same); C2 its database password
changed to a known value. A re-encryption is no change; a changed value reads "(secret changed)"
with the key and "(encrypted; no key to compare)" without; no plaintext is ever printed or cached.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from tests.diff.secretrepo import (
    DB,
    DOC,
    NEW,
    OLD,
    PLAINTEXTS,
    History,
    Run,
    copy_tree,
    git,
    plaintext_files,
    set_password,
)

from qv_config.diff.compute import diff_documents
from qv_config.diff.secretdiff import NO_KEY_TO_COMPARE, SECRET_CHANGED, SecretQuery
from qv_config.secrets import rotate_file


@pytest.fixture
def run(qv: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, history: History) -> Run:
    """``qv ARGS`` in the history repo, with or without the dev key; checks for plaintext."""
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(history.root.parent / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str, key: bool) -> tuple[int, str]:
        if key:
            monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(history.key))
        else:
            monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
        done = qv(history.root, *args)
        text = done.out + done.err
        assert "Traceback" not in text
        for plain in PLAINTEXTS:
            assert plain not in text, f"qv {' '.join(args)} printed a secret"
        return done.code, text

    return invoke


def _sides(history: History, a: int, b: int) -> tuple[str, str]:
    return f"dev@{history.shas[a]}", f"dev@{history.shas[b]}"


def test_re_encryption_is_no_change_with_the_key(run: Run, history: History) -> None:
    code, out = run("diff", *_sides(history, 0, 1), key=True)
    assert code == 0
    assert "no differences" in out


def test_re_encryption_cannot_be_judged_without_the_key(run: Run, history: History) -> None:
    code, out = run("diff", *_sides(history, 0, 1), key=False)
    assert code == 0
    assert f"{DB}: {NO_KEY_TO_COMPARE}" in out
    assert "spec.broker.password: (encrypted; no key to compare)" in out
    assert SECRET_CHANGED not in out


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_changed_secret_with_the_key(run: Run, history: History, fmt: str) -> None:
    code, out = run("diff", *_sides(history, 1, 2), "--format", fmt, key=True)
    assert code == 0
    assert DB in out
    assert SECRET_CHANGED in out
    assert "broker.password" not in out  # re-encrypted by `encrypt`, same value
    assert NO_KEY_TO_COMPARE not in out


def test_changed_secret_in_json(run: Run, history: History) -> None:
    for key, note in ((True, SECRET_CHANGED), (False, NO_KEY_TO_COMPARE)):
        code, out = run("diff", *_sides(history, 0, 2), "--format", "json", key=key)
        assert code == 0
        (change,) = json.loads(out)["changes"]
        fields = {f["path"]: f for f in change["fields"]}
        assert fields[DB] == {
            "path": DB,
            "op": "changed",
            "old": "(secret)",
            "new": "(secret)",
            "risk": None,
            "secret": True,
            "note": note,
        }
        assert ("spec.broker.password" in fields) is (not key)


def test_changed_secret_without_the_key(run: Run, history: History) -> None:
    code, out = run("diff", *_sides(history, 1, 2), key=False)
    assert code == 0
    assert f"{DB}: {NO_KEY_TO_COMPARE}" in out
    assert SECRET_CHANGED not in out


def test_review_labels_secrets(run: Run, history: History) -> None:
    base = history.shas[0]
    code, out = run("review", "--base", base, "--format", "markdown", key=True)
    assert code == 0
    assert f"| `{DB}` | `{SECRET_CHANGED}` |" in out
    assert "broker.password" not in out
    code, out = run("review", "--base", base, "--format", "json", key=False)
    assert code == 0
    assert NO_KEY_TO_COMPARE in out
    assert SECRET_CHANGED not in out


def test_log_skips_a_re_encryption_with_the_key(run: Run, history: History) -> None:
    code, out = run("log", "--env", "dev", key=True)
    assert code == 0
    assert "new oms database password" in out
    assert f"{DB}: {SECRET_CHANGED}" in out
    assert "rotate the oms data key" not in out
    code, out = run("log", "--env", "dev", "--format", "json", key=False)
    assert code == 0
    assert "rotate the oms data key" in out  # without a key it cannot be told apart
    assert NO_KEY_TO_COMPARE in out


def test_work_tree_re_encryption_and_no_plaintext_in_caches(run: Run, history: History) -> None:
    doc = history.root / DOC
    try:
        set_password(doc, history.key, NEW)  # same value, new ciphertext, not committed
        code, out = run("diff", "dev@HEAD", "dev", key=True)
        assert (code, "no differences" in out) == (0, True)
        set_password(doc, history.key, OLD)
        code, out = run("diff", "dev@HEAD", "dev", key=True)
        assert f"{DB}: {SECRET_CHANGED}" in out
    finally:
        git(history.root, "checkout", "--", DOC)
    assert plaintext_files(history.root) == []


def test_between_environments_without_their_key(run: Run, history: History) -> None:
    code, out = run("diff", "dev", "staging", "--all", key=True)
    assert code == 0
    assert f"{DB}: {NO_KEY_TO_COMPARE}" in out  # staging's key is not in the repository


def test_a_missing_key_file_is_named(
    qv: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(history.root / "no-such.agekey"))
    done = qv(history.root, "diff", *_sides(history, 1, 2))
    assert done.code == 2  # a usage error, as for every command (docs/secrets.md)
    assert "SOPS_AGE_KEY_FILE " in done.err
    assert "no-such.agekey: no such file" in done.err
    assert "Traceback" not in done.err


def _oms_fields(qv: Callable[..., Any], root: Path) -> dict[str, dict[str, object]]:
    done = qv(root, "diff", "dev", "staging", "--all", "--format", "json")
    assert done.code == 0, done.err
    out = done.out + done.err
    assert not any(p in out for p in PLAINTEXTS)
    changes = json.loads(done.out)["changes"]
    oms = [c for c in changes if c["ref"] == "config/order-management"]
    return {f["path"]: f for c in oms for f in c["fields"] if f["secret"]}


def test_outside_git_files_are_scanned(
    tmp_path: Path, qv: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two environments both encrypted to the dev key, in a tree that is not a Git checkout."""
    root = tmp_path / "tree"
    copy_tree(root)
    key = root / "keys" / "demo-dev.agekey"
    sops = (root / ".sops.yaml").read_text()
    dev = sops.split("    age: ", 1)[1].split("\n", 1)[0]
    (root / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: ^environments/.*\\.ya?ml$\n"
        f"    encrypted_regex: ^(password|api_key)$\n    age: {dev}\n"
    )
    staging = root / "environments/staging/configs/order-management.yaml"
    shutil.copy2(root / DOC, staging)
    rotate_file(staging, key)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))
    assert _oms_fields(qv, root) == {}  # same values under new ciphertext
    set_password(staging, key, NEW)
    fields = _oms_fields(qv, root)
    assert list(fields) == [DB]
    assert fields[DB]["note"] == SECRET_CHANGED


# ---------------------------------------------------------------- diff_documents, in memory

CT_A = "ENC[AES256_GCM,data:AAAA,iv:aaaa,tag:t1,type:str]"
CT_B = "ENC[AES256_GCM,data:BBBB,iv:bbbb,tag:t2,type:str]"


def _secret_marks(doc: object, path: tuple[object, ...]) -> tuple[None, bool]:
    return None, path[-1] == "password"


def _doc(password: object, port: int = 1) -> dict[str, object]:
    return {"kind": "Config", "spec": {"password": password, "port": port}}


def test_default_resolver_cannot_compare_ciphertext() -> None:
    result = diff_documents({"config/a": _doc(CT_A)}, {"config/a": _doc(CT_B)}, marks=_secret_marks)
    (field,) = result.changes[0].fields
    assert (field.note, field.old, field.new) == (NO_KEY_TO_COMPARE, "(secret)", "(secret)")
    assert CT_A not in repr(result)
    assert CT_B not in repr(result)


def test_resolver_drops_unchanged_secrets_and_empty_documents() -> None:
    asked: list[SecretQuery] = []

    def same(queries: Sequence[SecretQuery]) -> list[str | None]:
        asked.extend(queries)
        return [None] * len(queries)

    left = {"config/a": _doc(CT_A), "config/b": _doc(CT_A, 1)}
    right = {"config/a": _doc(CT_B), "config/b": _doc(CT_B, 2)}
    result = diff_documents(left, right, marks=_secret_marks, secret=same)
    assert [c.ref for c in result.changes] == ["config/b"]
    assert [f.field for f in result.changes[0].fields] == ["spec.port"]
    assert [(q.ref, q.path) for q in asked] == [
        ("config/a", ("spec", "password")),
        ("config/b", ("spec", "password")),
    ]


def test_secret_added_or_removed_needs_no_key() -> None:
    result = diff_documents(
        {"config/a": {"kind": "Config", "spec": {}}},
        {"config/a": _doc(CT_A)},
        marks=_secret_marks,
        secret=lambda queries: pytest.fail("nothing to compare"),
    )
    fields = {f.field: f for f in result.changes[0].fields}
    assert fields["spec.password"].op == "added"
    assert fields["spec.password"].new == "(secret)"
