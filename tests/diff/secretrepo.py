"""A real Git repository of this project's tree with a secret's history (see ``build_history``).

Shared by test_diff_secrets.py and test_diff_decrypt.py (the ``history`` fixture of conftest.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qv_config.secrets import decrypt_file, encrypt_file, rotate_file

MAIN = Path(__file__).resolve().parents[2]
DOC = "environments/dev/configs/order-management.yaml"
OLD = "demo-dev-oms-db-password-not-a-real-secret"  # dev's database password in this project
NEW = "canary-NEW-db-password-5e1f"
BROKER = "demo-dev-prime-broker-password-not-a-real-secret"  # never changes
PLAINTEXTS = (OLD, NEW, BROKER)
COPY = ("qv.yaml", ".sops.yaml", "schemas", "templates", "strategies", "environments", "keys")
DB = "spec.database.password"


Run = Callable[..., tuple[int, str]]


@dataclass(frozen=True)
class History:
    root: Path
    key: Path
    shas: tuple[str, str, str]


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def copy_tree(root: Path) -> None:
    root.mkdir(parents=True)
    for name in COPY:
        source = MAIN / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy2(source, root / name)
    (root / ".gitignore").write_text(".qv/\n")


def set_password(path: Path, key: Path, value: str) -> None:
    """Decrypt in place, set the first ``password:``, encrypt again (every IV changes)."""
    decrypt_file(path, key, in_place=True)
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("password:"))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    lines[at] = f"{indent}password: {value}\n"
    path.write_text("".join(lines))
    encrypt_file(path)
    assert value not in path.read_text()


def retag_password(path: Path, tag: str) -> None:
    """Edit the sops ``type:`` tag of the first encrypted ``password:`` of ``path`` (which
    sops does not authenticate) to ``tag``."""
    text = path.read_text()
    line = next(re.finditer(r"^ +password: ENC\[.*$", text, re.M))
    edited = re.sub(r"type:[^\]]*\]", f"type:{tag}]", line.group(0))
    path.write_text(text[: line.start()] + edited + text[line.end() :])


def _commit(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def init_repo(root: Path) -> Path:
    """A new Git repository at ``root`` holding a copy of this project's tree (nothing
    committed); returns the demo dev key."""
    copy_tree(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Secret Test")
    git(root, "config", "user.email", "secret@example.com")
    git(root, "config", "commit.gpgsign", "false")
    return root / "keys" / "demo-dev.agekey"


def build_history(root: Path) -> History:
    """C0 the project, C1 the oms file rotated, C2 its database password set to ``NEW``."""
    key = init_repo(root)
    c0 = _commit(root, "the project as it is")
    before = (root / DOC).read_text()
    rotate_file(root / DOC, key)
    assert (root / DOC).read_text() != before
    c1 = _commit(root, "rotate the oms data key")
    set_password(root / DOC, key, NEW)
    c2 = _commit(root, "new oms database password")
    return History(root, key, (c0, c1, c2))


def plaintext_files(root: Path) -> list[Path]:
    """Files under ``root/.qv`` that hold one of ``PLAINTEXTS`` (caches must hold none)."""
    return [
        file
        for file in (root / ".qv").rglob("*")
        if file.is_file() and any(p.encode() in file.read_bytes() for p in PLAINTEXTS)
    ]


VENDOR_OLD = "canary-unmarked-key-0a1b"  # encrypted by encrypted_regex (api_key), never marked
VENDOR_NEW = "canary-unmarked-key-NEW-9c8d"
VENDOR = "spec.extra.vendor.api_key"


def _set_vendor_key(path: Path, key: Path, value: str) -> None:
    """Decrypt in place, set spec.extra.vendor.api_key, encrypt again (every IV changes)."""
    decrypt_file(path, key, in_place=True)
    text = re.sub(r"\n  extra:\n    vendor:\n      api_key: .*\n", "\n", path.read_text())
    text = text.replace("\nspec:\n", f"\nspec:\n  extra:\n    vendor:\n      api_key: {value}\n", 1)
    path.write_text(text)
    encrypt_file(path)
    assert value not in path.read_text()


def build_unmarked_history(root: Path) -> History:
    """A value the schema does not mark x-qv-secret but .sops.yaml's encrypted_regex encrypts
    (``spec.extra.vendor.api_key``): C0 set to ``VENDOR_OLD``, C1 re-encrypted (same value),
    C2 set to ``VENDOR_NEW``."""
    key = init_repo(root)
    schema = root / "schemas/configs/order-management.schema.json"
    loaded = json.loads(schema.read_text())
    loaded["properties"]["extra"] = {"type": "object"}
    schema.write_text(json.dumps(loaded, indent=1))
    _set_vendor_key(root / DOC, key, VENDOR_OLD)
    c0 = _commit(root, "a vendor key the schema does not mark")
    decrypt_file(root / DOC, key, in_place=True)
    encrypt_file(root / DOC)
    c1 = _commit(root, "re-encrypted, no value changed")
    _set_vendor_key(root / DOC, key, VENDOR_NEW)
    c2 = _commit(root, "new vendor key")
    return History(root, key, (c0, c1, c2))
