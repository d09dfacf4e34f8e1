"""A value the repository holds only as sops ciphertext is a secret in ``qv diff``, whether or not
the schema marks it ``x-qv-secret`` (here ``.sops.yaml``'s ``encrypted_regex`` selects
``api_key``): a re-encryption is no change, a changed value reads "(secret changed)" with the
key, and only ``--decrypt`` shows it. History: ``secretrepo.build_unmarked_history``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.diff.secretrepo import VENDOR, VENDOR_NEW, VENDOR_OLD, History

from qv_config.diff.compute import diff_documents
from qv_config.diff.secretdiff import NO_KEY_TO_COMPARE, SECRET_CHANGED

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(qv: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, unmarked: History) -> Run:
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(unmarked.root.parent / "xdg"))
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str, key: bool = True) -> tuple[int, str]:
        if key:
            monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(unmarked.key))
        else:
            monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
        done = qv(unmarked.root, *args)
        assert "Traceback" not in done.out + done.err
        return done.code, done.out + done.err

    return invoke


def _sides(history: History, a: int, b: int) -> tuple[str, str]:
    return f"dev@{history.shas[a]}", f"dev@{history.shas[b]}"


def test_re_encrypting_an_unmarked_secret_is_no_change(run: Run, unmarked: History) -> None:
    for extra in ((), ("--decrypt",)):
        code, out = run("diff", *_sides(unmarked, 0, 1), "--exit-code", *extra)
        assert code == 0, out
        assert "no differences" in out
        assert "ENC[" not in out
    code, out = run("diff", *_sides(unmarked, 0, 1), key=False)
    assert f"{VENDOR}: {NO_KEY_TO_COMPARE}" in out
    assert "ENC[" not in out


def test_a_changed_unmarked_secret_is_shown_only_under_decrypt(run: Run, unmarked: History) -> None:
    code, out = run("diff", *_sides(unmarked, 1, 2))
    assert f"{VENDOR}: {SECRET_CHANGED}" in out
    assert VENDOR_OLD not in out
    assert VENDOR_NEW not in out
    assert "ENC[" not in out
    code, out = run("diff", *_sides(unmarked, 1, 2), "--decrypt")
    assert code == 0
    assert f'"{VENDOR_OLD}" → "{VENDOR_NEW}"' in out


CT = "ENC[AES256_GCM,data:AAAA,iv:aaaa,tag:t1,type:str]"


def test_ciphertext_leaves_are_secrets_in_memory() -> None:
    """No mark at all: a ciphertext value is compared by the resolver and never printed; an
    added mapping shows its ciphertext leaves as "(secret)" and the rest as it is."""
    unmarked = lambda doc, path: (None, False)  # noqa: E731
    old = {"kind": "Config", "spec": {"key": CT}}
    new = {"kind": "Config", "spec": {"key": CT.replace("AAAA", "BBBB"), "more": {"k": CT, "n": 1}}}
    result = diff_documents({"config/a": old}, {"config/a": new}, marks=unmarked)
    fields = {f.field: f for f in result.changes[0].fields}
    assert fields["spec.key"].secret
    assert fields["spec.key"].note == NO_KEY_TO_COMPARE
    assert fields["spec.more"].new == {"k": "(secret)", "n": 1}
    assert "AAAA" not in repr(result)
