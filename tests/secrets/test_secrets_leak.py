"""A known secret never appears in any output, except `qv secrets decrypt` asked for it."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from typing import Any

from .conftest import KNOWN_SECRET, Tree


def test_known_secret_only_in_decrypt_output(
    tree: Tree, qv: Callable[..., Any], monkeypatch: Any
) -> None:
    dev, prod = str(tree.doc()), str(tree.doc("prod"))
    key = ("-k", str(tree.dev_key))
    editor = tree.root.parent / "noop-editor.sh"
    editor.write_text("#!/bin/sh\ntrue\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("EDITOR", str(editor))
    quiet = [
        ("secrets", "encrypt", dev, prod),
        ("secrets", "rotate", dev, *key),
        ("secrets", "edit", dev, *key),
        ("secrets", "decrypt", prod, *key),  # no key: exit 3
        ("secrets", "encrypt", dev),  # already encrypted: exit 2
        ("secrets", "decrypt", "-i", dev, *key),
        ("secrets", "encrypt", dev),
        ("secrets", "keygen", "--out", str(tree.root.parent / "k2.agekey")),
        (
            "secrets",
            "--help",
        ),
    ]
    for args in quiet:
        result = qv(*args)
        assert KNOWN_SECRET not in result.out + result.err, args
    assert KNOWN_SECRET not in tree.doc().read_text()
    assert KNOWN_SECRET not in tree.doc("prod").read_text()
    text = tree.doc().read_text()
    tree.doc().write_text(re.sub(r"host: \S+", "host: tampered", text))
    tampered = qv("secrets", "decrypt", dev, *key)
    assert tampered.code == 1
    assert KNOWN_SECRET not in tampered.out + tampered.err
    tree.doc().write_text(text)
    shown = qv("secrets", "decrypt", dev, *key)
    assert shown.code == 0
    assert KNOWN_SECRET in shown.out
