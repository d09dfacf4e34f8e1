"""Text from the repository never makes qv spin: strings shaped almost like sops ciphertext, and
regexes in sops metadata and ``.sops.yaml`` (run with RE2, as sops runs them).

Each case runs the real ``qv`` in its own process under a time limit far above what the run
needs (a few seconds): before the fix each took minutes (backtracking in Python's ``re``). The
limit is a hang detector, not a speed assertion.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.diff.secretrepo import DOC, init_repo
from tests.qvbin import QV

LIMIT = 120  # seconds: a hang, never a slow run
# the start of a ciphertext, then field names without values: O(n⁴) for ``(.+)`` groups
HOSTILE = "ENC[AES256_GCM,data:" + ",iv:,tag:,type:" * 400 + "x"
LONG_KEY = "a" * 34 + "!"  # ``^(a|a)+$`` backtracks 2^34 ways before failing on the "!"
CATASTROPHIC = "'^(a|a)+$'"


def _run(root: Path, *args: str, key: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY")}
    env.update(NO_COLOR="1", XDG_CONFIG_HOME=str(root / ".no-config"))
    if key is not None:
        env["SOPS_AGE_KEY_FILE"] = str(key)
    argv = [QV, "-C", str(root), *args]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=LIMIT, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`qv {' '.join(args)}` still running after {LIMIT} s: it hangs")
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    return done


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    init_repo(root)
    return root


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_plain_string_shaped_like_ciphertext_does_not_hang_validate(root: Path) -> None:
    path = root / "environments/dev/configs/market-data.yaml"
    _replace(path, "  description: Vendor feeds", f"  description: '{HOSTILE}'\n  x: Vendor feeds")
    done = _run(root, "validate", "--no-cache")
    assert done.returncode in (0, 1), done.stderr
    assert "QV606" not in done.stdout  # not ciphertext: plain text, as sops would see it


def test_ciphertext_shape_check_is_linear() -> None:
    """Both functions that tell ciphertext from text, on a 1 MB hostile string."""
    code = (
        "from qv_config.secrets.sopsfile import is_ciphertext as a\n"
        "from qv_config.validate.rules.secrets import is_ciphertext as b\n"
        "s = 'ENC[AES256_GCM,data:' + ',iv:,tag:,type:' * 70000 + 'x'\n"
        "assert not a(s) and not b(s) and not a(s + ']') and not b(s + ']')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], timeout=LIMIT, check=False)
    assert done.returncode == 0


def _long_label(root: Path) -> None:
    _replace(
        root / DOC, "  owner: team-oms\n", f"  owner: team-oms\n  labels:\n    {LONG_KEY}: x\n"
    )


def test_a_catastrophic_regex_in_sops_metadata_does_not_hang_validate(root: Path) -> None:
    """No key needed: every key of the file is tested against the file's own rules."""
    path = root / DOC
    text = path.read_text()
    start = text.index("\n  encrypted_regex: ") + 1
    end = text.index("\n", start)
    path.write_text(f"{text[:start]}  encrypted_regex: {CATASTROPHIC}{text[end:]}")
    _long_label(root)
    done = _run(root, "validate", "--no-cache")
    assert done.returncode == 1  # the ciphertext is now at keys the rule leaves plain: QV606
    assert "QV606" in done.stdout
    with_key = _run(root, "validate", "--no-cache", key=root / "keys/demo-dev.agekey")
    assert with_key.returncode == 1
    assert "QV603" in with_key.stdout or "QV606" in with_key.stdout


def test_a_catastrophic_regex_in_sops_yaml_does_not_hang_the_hook(root: Path) -> None:
    config = root / ".sops.yaml"
    text = config.read_text()
    start = text.index("    encrypted_regex: ")
    end = text.index("\n", start)
    config.write_text(f"{text[:start]}    encrypted_regex: {CATASTROPHIC}{text[end:]}")
    _long_label(root)
    done = _run(root, "secrets", "check")
    assert done.returncode in (0, 1), done.stderr
