"""INTERIM loader (PyYAML C loader): replaced by the strict fast/slow loader of the yamlio owner.

Signature is the contract: ``load_bytes(path, data, *, limits) -> LoadedDoc``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from qv_config.yamlio.types import Limits, LoadedDoc, Mark, ReplaceDict, ReplaceList, YamlError


class _Loader(yaml.CSafeLoader):
    pass


def _replace(loader: yaml.Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return ReplaceDict(loader.construct_mapping(node, deep=True))
    return ReplaceList(loader.construct_sequence(node, deep=True))  # type: ignore[arg-type]


_Loader.add_constructor("!replace", _replace)


def load_bytes(path: str, data: bytes, *, limits: Limits = Limits()) -> LoadedDoc:
    if len(data) > limits.max_file_bytes:
        raise YamlError("QV106", path, Mark(1, 1), f"file is larger than {limits.max_file_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise YamlError("QV107", path, Mark(1, 1), f"not UTF-8: {err}") from None
    try:
        value = yaml.load(text, Loader=_Loader)  # noqa: S506 - CSafeLoader subclass
    except yaml.YAMLError as err:
        raise YamlError("QV101", path, Mark(1, 1), str(err)) from None
    return LoadedDoc(path=path, data=value, text=text, digest=hashlib.sha256(data).hexdigest())
