"""A starter repository (committed) with symbolic links of every kind the rule of
``repo.files`` knows, and files outside it that no output may ever show."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from qv_config.scaffold import write_starter

MARK = "OUTSIDE-MARKER-7f3a9c"  # in every file outside the repository
AGE_KEY = "AGE-SECRET-KEY-1" + "Q" * 58


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return done.stdout.decode("utf-8", "surrogateescape")


def outside(base: Path) -> Path:
    """Files outside the repository: a YAML document, an age key, a schema, a folder."""
    out = base / "outside"
    (out / "folder").mkdir(parents=True)
    (out / "doc.yaml").write_text(f"apiVersion: qv/v1\nkind: Config\nspec: {{stolen: {MARK}}}\n")
    (out / "key.txt").write_text(f"# created: 2026-01-01\n# {MARK}\n{AGE_KEY}\n")
    (out / "schema.json").write_text(f'{{"type": "object", "description": "{MARK}"}}\n')
    (out / "folder" / "x.yaml").write_text(f"spec: {{stolen: {MARK}}}\n")
    return out


def starter(root: Path) -> Path:
    write_starter(root)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "starter")
    return root


def refused_links(root: Path, out: Path) -> dict[str, str]:
    """Make every kind of refused link in ``root``; link -> the reason word the finding says."""
    links = {
        "environments/dev/leak.yaml": (str(out / "doc.yaml"), "outside"),
        "environments/dev/relative-leak.yaml": (
            os.path.relpath(out / "doc.yaml", root / "environments/dev"),
            "outside",
        ),
        "templates/key.yaml": (str(out / "key.txt"), "outside"),
        "environments/staging/folder": (str(out / "folder"), "outside"),
        "environments/prod/inside-folder": ("configs", "folder"),
        "environments/prod/other-env.yaml": (
            "../dev/environment.yaml",
            "outside environments/prod/",
        ),
        "templates/env.yaml": ("../environments/dev/environment.yaml", "outside templates/"),
        "environments/dev/dangling.yaml": ("nothing.yaml", "no regular file"),
        "environments/dev/git-config.yaml": ("../../.git/config", "outside"),
        "environments/dev/loop-a.yaml": ("loop-b.yaml", "chain"),
        "environments/dev/loop-b.yaml": ("loop-a.yaml", "chain"),
        "policy/approvals.yaml": (str(out / "doc.yaml"), "outside"),
        ".sops.yaml": (str(out / "doc.yaml"), "outside"),
        "schemas/configs/example-service.schema.json": (str(out / "schema.json"), "outside"),
    }
    for link, (target, _) in links.items():
        path = root / link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.symlink_to(target)
    return {link: why for link, (_, why) in links.items()}


def inside_link(root: Path) -> str:
    """prod's Config moves to ``shared/example-service.txt`` (not a document name) and its old
    name becomes a link to it: a link within its environment folder, read as that file."""
    link = root / "environments/prod/configs/example-service.yaml"
    (root / "environments/prod/shared").mkdir()
    link.rename(root / "environments/prod/shared/example-service.txt")
    link.symlink_to("../shared/example-service.txt")
    return "environments/prod/configs/example-service.yaml"
