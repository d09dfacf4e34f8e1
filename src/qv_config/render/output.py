"""Text forms of rendering results for ``qv render`` (the CLI prints them; this module doesn't).

YAML goes through ``qv_config.yamlio.writer.dump_plain`` when the writer module provides it;
until then a local PyYAML fallback writes block style in authored key order and quotes every
string that YAML 1.2 core would read back as something else (``"1e6"``, ``"0777"``, ``"true"``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from qv_config.findings import Finding
from qv_config.render.explain import Explanation
from qv_config.render.types import RenderedDoc


def to_yaml(docs: Iterable[RenderedDoc]) -> str:
    """Multi-document YAML, one document per rendered doc, ``---`` between them."""
    return "---\n".join(map(yaml_document, docs))


def yaml_document(doc: RenderedDoc) -> str:
    """One document of ``to_yaml``."""
    return _dumper()(dict(doc.data))


def json_member(doc: RenderedDoc) -> str:
    """One document as it sits in ``to_json``'s object (sorted keys, indented under it)."""
    from qv_config.render.desired import canonical

    return canonical(doc, indent=True).decode().replace("\n", "\n  ")


def to_json(members: Mapping[str, str]) -> str:
    """One JSON object {desired-state key: document}, sorted keys, indent 2, from the documents'
    ``json_member`` texts (made one at a time as each is rendered, not all values at once)."""
    import orjson

    from qv_config.safetext import json_safe

    if not members:
        return "{}\n"
    keys = {key: orjson.dumps(key).decode() for key in members}
    body = ",\n".join(f"  {keys[key]}: {members[key]}" for key in sorted(members))
    # the same data; bidi and invisible characters as \u escapes
    return json_safe("{\n" + body + "\n}") + "\n"


def finding_line(finding: Finding) -> str:
    from qv_config.safetext import safe

    env = f" [{safe(finding.env)}]" if finding.env else ""
    where = f"{safe(finding.file)}:{finding.line}:{finding.col}" if finding.file else "(project)"
    return f"{where}: {finding.code} {finding.message}{env}"


def explanation_text(expl: Explanation) -> str:
    """The layers that set a field; names and values escaped (``safetext``): a value asked for
    by name is shown whole, but never as raw control or bidi characters."""
    from qv_config.safetext import escape, safe

    lines = [f"{safe(expl.key)}: {safe(expl.field)}"]
    for step in expl.steps:
        mark = f"{step.mark.line}:{step.mark.col}" if step.mark else "?:?"
        if step.action == "set":
            what = _short(step.value)
        else:
            what = "(deleted)" if step.action == "deleted" else "(replaced by a parent value)"
        flag = "  <- wins" if step.won else ""
        where = f"{safe(step.file)}:{mark}  {step.role} {safe(step.label)}"
        lines.append(f"  {where}  {escape(what)}{flag}")
    final = _short(expl.final) if expl.present else "(absent)"
    lines.append(f"final value: {escape(final)}")
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)


def _dumper() -> Callable[[Any], str]:
    try:
        from qv_config.yamlio.writer import dump_plain  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return _fallback_dump
    return dump_plain  # type: ignore[no-any-return,unused-ignore]


def _fallback_dump(data: Any) -> str:
    import yaml

    return yaml.dump(
        data,
        Dumper=_fallback_class(),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


_FALLBACK: list[type[Any]] = []


def _fallback_class() -> type[Any]:
    if _FALLBACK:
        return _FALLBACK[0]
    import yaml

    from qv_config.yamlio.scalars import is_plain_safe_text

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
        style = None if is_plain_safe_text(text) else '"'
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Dumper.add_representer(str, represent_str)
    _FALLBACK.append(Dumper)
    return Dumper
