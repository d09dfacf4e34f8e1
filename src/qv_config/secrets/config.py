"""``.sops.yaml``: its creation rules, checked strictly, and the recipients a path should have."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.errors import UsageError
from qv_config.secrets.agekeys import is_recipient
from qv_config.secrets.regex import re2_problem, searches

CONFIG_NAME = ".sops.yaml"


@dataclass(frozen=True, slots=True)
class CreationRule:
    path_regex: str
    age: frozenset[str]
    encrypted_regex: str
    line: int  # 1-based line of the rule in .sops.yaml (0: unknown)

    def matches(self, relative: str) -> bool:
        # RE2, as sops: the pattern is the repository's (``parse_config`` checked it compiles)
        return searches(self.path_regex, relative) if self.path_regex else True


@dataclass(frozen=True)
class SopsConfig:
    path: Path  # the .sops.yaml file
    rules: tuple[CreationRule, ...]

    @property
    def root(self) -> Path:
        return self.path.parent

    def relative(self, file: Path) -> str:
        try:
            return file.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return file.as_posix()

    def rule_for(self, file: Path) -> CreationRule | None:
        """The first rule whose ``path_regex`` matches (sops' own order)."""
        relative = self.relative(file)
        return next((rule for rule in self.rules if rule.matches(relative)), None)


def find_config(start: Path) -> Path | None:
    """The nearest ``.sops.yaml`` at or above ``start`` (a file or a directory). Found from
    where ``start`` is, not from where a link there points (``repo.files`` judges the link)."""
    here = Path(os.path.abspath(start))
    for folder in [here, *here.parents] if here.is_dir() else here.parents:
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


class SopsConfigError(UsageError):
    """A malformed ``.sops.yaml``; ``line`` and ``detail`` let validation report it as QV605."""

    def __init__(self, path: Path, line: int, detail: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {detail}", hint=CONFIG_HINT)
        self.line = line
        self.detail = detail


CONFIG_HINT = "fix .sops.yaml: a `creation_rules` list of {path_regex, age, encrypted_regex}"


def _bad(path: Path, line: int, what: str) -> SopsConfigError:
    return SopsConfigError(path, line, what)


def load_config(path: Path) -> SopsConfig:
    """Parse ``.sops.yaml``; a malformed file is a ``UsageError`` naming the line."""
    from qv_config.repo.files import RefusedFile
    from qv_config.repo.source import WorkTreeSource

    try:  # through the rule of repo.files: a link out of the repository is never read
        raw = WorkTreeSource(path.parent).read_strict(path.name)
        text = raw.decode("utf-8") if raw is not None else None
    except (OSError, UnicodeDecodeError, RefusedFile) as bad:
        raise _bad(path, 0, f"cannot be read ({bad})") from None
    if text is None:
        raise _bad(path, 0, "cannot be read (no such file)")
    return parse_config(path, text)


def parse_config(path: Path, text: str) -> SopsConfig:
    """Parse the text of ``.sops.yaml`` found at ``path`` (e.g. read from a Git revision)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as bad:
        mark = getattr(bad, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise _bad(path, line, f"not valid YAML ({getattr(bad, 'problem', bad)})") from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise _bad(path, 1, "must be a mapping with a `creation_rules` list")
    return SopsConfig(path, _rules(path, node))


def _rules(path: Path, node: Any) -> tuple[CreationRule, ...]:
    import yaml

    entries = {key.value: value for key, value in node.value}
    rules = entries.get("creation_rules")
    if not isinstance(rules, yaml.SequenceNode) or not rules.value:
        raise _bad(path, node.start_mark.line + 1, "`creation_rules` must be a non-empty list")
    return tuple(_rule(path, item) for item in rules.value)


def _rule(path: Path, item: Any) -> CreationRule:
    import yaml

    line = item.start_mark.line + 1
    data = yaml.safe_load(yaml.serialize(item)) if isinstance(item, yaml.MappingNode) else None
    if not isinstance(data, Mapping):
        raise _bad(path, line, "each creation rule must be a mapping")
    lines = {key.value: value.start_mark.line + 1 for key, value in item.value}
    regex = str(data.get("path_regex", ""))
    encrypted_regex = str(data.get("encrypted_regex") or "")
    for name, pattern in (("path_regex", regex), ("encrypted_regex", encrypted_regex)):
        problem = re2_problem(pattern)
        if problem is not None:
            where = lines.get(name, line)
            raise _bad(
                path, where, f"{name} {pattern!r} is not a regex sops (RE2) can compile ({problem})"
            )
    age = _age(path, lines.get("age", line), data.get("age"))
    return CreationRule(regex, age, encrypted_regex, line)


def _age(path: Path, line: int, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _bad(path, line, "`age` must be a comma-separated string or a list of recipients")
    out = frozenset(str(item).strip() for item in items if str(item).strip())
    for recipient in sorted(out):
        if not is_recipient(recipient):
            raise _bad(path, line, f"{recipient!r} is not an age recipient (age1…)")
    return out


def recipients_for(path: Path, sops_config: SopsConfig | Path | None = None) -> set[str]:
    """The age recipients the creation rules name for ``path`` now (empty: no rule matches)."""
    config = _config_for(path, sops_config)
    rule = config.rule_for(path) if config else None
    return set(rule.age) if rule else set()


def _config_for(path: Path, sops_config: SopsConfig | Path | None) -> SopsConfig | None:
    if isinstance(sops_config, SopsConfig):
        return sops_config
    found = sops_config if sops_config is not None else find_config(path)
    return load_config(found) if found is not None else None
