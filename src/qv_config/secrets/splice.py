"""What ``qv secrets encrypt`` writes: the user's own file with only its secret values replaced
by sops' ciphertext and sops' ``sops:`` block appended.

sops writes the whole file again (its own indentation, inline maps expanded, comments moved).
qv lets sops encrypt to standard output, then copies into the original text only the values sops
encrypted, each at its own place, and the metadata block; every other byte stays. The result is
parsed and compared with sops' output before anything is written: the same values mean the same
MAC, and a file qv cannot splice (a comment inside a secret list or mapping, which sops encrypts
as an item of it; a secret in an alias) is refused, nothing written, rather than written half
right.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from qv_config.errors import OperationalError

_ENC = "ENC[AES256_GCM,"
_SOPS_BLOCK = re.compile(r"^sops:[ \t]*$", re.MULTILINE)

Path_ = tuple[str | int, ...]


def splice(original: str, encrypted: str, label: str) -> str:
    """``original`` with the values ``encrypted`` (sops' output for it) holds as ciphertext, and
    with ``encrypted``'s ``sops:`` block at its end."""
    import yaml

    cipher = _values(encrypted, label)
    block = _SOPS_BLOCK.search(encrypted)
    if not isinstance(cipher, dict) or block is None:
        raise _refused(label, "sops wrote no `sops:` block")
    tree = yaml.compose(original, Loader=yaml.SafeLoader)
    edits = sorted(_edits(original, tree, cipher), reverse=True)
    text = original
    for start, end, value in edits:
        text = text[:start] + value + text[end:]
    if not text.endswith("\n"):
        text += "\n"
    text += encrypted[block.start() :]
    if _values(text, label) != cipher:
        raise _refused(label, "the spliced file would not hold what sops encrypted")
    return text


def _values(text: str, label: str) -> Any:
    """The values of a YAML text as qv reads every document (YAML 1.2, strict)."""
    from qv_config.yamlio import YamlError, load_bytes

    try:
        return load_bytes(label, text.encode("utf-8")).data
    except YamlError as bad:
        raise _refused(label, f"it does not read back ({bad})") from None


def _refused(label: str, why: str) -> OperationalError:
    return OperationalError(
        f"{label}: cannot encrypt in place keeping the file's layout: {why}",
        hint="move comments out of secret values (sops encrypts those) and anchors or aliases"
        " away from secrets, or run sops directly",
    )


def _edits(original: str, node: Any, cipher: Any) -> Iterator[tuple[int, int, str]]:
    """(start, end, new text) of each scalar of ``node`` whose value in ``cipher`` is sops
    ciphertext."""
    for scalar, value, flow in _pairs(node, cipher, False):
        if not (isinstance(value, str) and value.startswith(_ENC)):
            continue
        start, end = scalar.start_mark.index, scalar.end_mark.index
        if scalar.style in ("|", ">"):  # a block scalar's span ends with line breaks: they stay
            span = original[start:end]
            end -= len(span) - len(span.rstrip("\n"))
        # In a flow collection ``,[]{}`` end a plain scalar: the ciphertext is quoted there.
        yield start, end, f'"{value}"' if flow else value


def _pairs(node: Any, cipher: Any, flow: bool) -> Iterator[tuple[Any, Any, bool]]:
    """Each scalar node of the original with the value at the same place in sops' output."""
    import yaml

    if isinstance(node, yaml.MappingNode) and isinstance(cipher, dict):
        inner = flow or bool(node.flow_style)
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in cipher and key.value != "sops":
                yield from _pairs(value, cipher[key.value], inner)
    elif isinstance(node, yaml.SequenceNode) and isinstance(cipher, list):
        inner = flow or bool(node.flow_style)
        for item, value in zip(node.value, cipher, strict=False):
            yield from _pairs(item, value, inner)
    elif isinstance(node, yaml.ScalarNode):
        yield node, cipher, flow
