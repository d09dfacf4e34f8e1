"""The approval policy of one repository state: ``policy/approvals.yaml``, ``allowed_signers``
and ``revoked_keys``, read through a ``Source`` (the rule of ``repo.files``), with the QV7xx
findings of ``qv validate`` and the digest a signed statement binds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qv_config.approvals.signers import Revoked, Signers, parse_revoked, parse_signers
from qv_config.findings import Finding, Severity

if TYPE_CHECKING:
    from qv_config.models.approval_policy import ApprovalPolicy
    from qv_config.yamlio import LoadedDoc

POLICY = "policy/approvals.yaml"
SIGNERS = "policy/allowed_signers"
REVOKED = "policy/revoked_keys"
FILES = (POLICY, SIGNERS, REVOKED)
MAX_BYTES = 1 << 20  # a policy file larger than this is refused (QV701/QV710/QV711)
Read = Callable[[str], bytes | None]


@dataclass(frozen=True)
class PolicyState:
    """The policy files of one state. ``model`` is None when the policy is absent or invalid
    (``findings`` say why); ``raw`` keeps the bytes ssh-keygen verifies against."""

    raw: dict[str, bytes | None]
    model: ApprovalPolicy | None
    signers: Signers
    revoked: Revoked
    findings: tuple[Finding, ...]

    @property
    def exists(self) -> bool:
        return self.raw[POLICY] is not None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.is_error)

    @property
    def digest(self) -> str:
        return files_digest(self.raw)


def files_digest(raw: dict[str, bytes | None]) -> str:
    """sha256 over ``path<TAB>sha256(content) or -<LF>`` of the three policy files."""
    lines = "".join(
        f"{path}\t{hashlib.sha256(data).hexdigest() if data is not None else '-'}\n"
        for path, data in sorted(raw.items())
    )
    return hashlib.sha256(lines.encode()).hexdigest()


_CODES = {POLICY: "QV701", SIGNERS: "QV710", REVOKED: "QV711"}


def read_policy(read: Read, envs: Sequence[str] | None = None) -> PolicyState:
    """The policy of a state whose files ``read`` reads; never raises on bad content.
    ``envs``: the environments of qv.yaml, to check that each rule's patterns name one."""
    findings: list[Finding] = []
    raw = {path: _read(read, path, findings) for path in FILES}
    text = raw[POLICY]
    loaded = _model(text, findings) if text is not None else None
    signers = parse_signers(_text(raw[SIGNERS], SIGNERS, findings))
    revoked = parse_revoked(_text(raw[REVOKED], REVOKED, findings))
    findings += _line_findings(SIGNERS, signers.problems)
    findings += _line_findings(REVOKED, revoked.problems)
    model = None
    if loaded is not None:
        from qv_config.approvals.checks import reference_findings

        model, doc = loaded
        findings += reference_findings(model, doc, signers, envs)
    return PolicyState(raw, model, signers, revoked, tuple(findings))


def _read(read: Read, path: str, findings: list[Finding]) -> bytes | None:
    from qv_config.repo.files import RefusedFile

    try:
        return read(path)
    except RefusedFile:  # a link out of its area (QV111): never read, and never "absent"
        findings.append(Finding(_CODES[path], f"{path} is a link qv does not read", path, 1, 1))
        return b""


def _text(data: bytes | None, path: str, findings: list[Finding]) -> str:
    if data is None:
        return ""
    problem = _size_or_encoding(data)
    if problem:
        findings.append(Finding(_CODES[path], f"{path} {problem}", path, 1, 1))
        return ""
    return data.decode("utf-8")


def _size_or_encoding(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        return f"is larger than {MAX_BYTES} bytes"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"is not UTF-8 (byte {err.start})"
    return ""


def _line_findings(path: str, problems: Any) -> list[Finding]:
    return [Finding(_CODES[path], p.message, path, p.line, p.col) for p in problems]


def _model(data: bytes, findings: list[Finding]) -> tuple[ApprovalPolicy, LoadedDoc] | None:
    from qv_config.models import ApprovalPolicy, check
    from qv_config.yamlio import YamlError, load_bytes

    problem = _size_or_encoding(data)
    if problem:
        findings.append(Finding("QV701", f"{POLICY} {problem}", POLICY, 1, 1))
        return None
    try:
        doc = load_bytes(POLICY, data)
    except YamlError as err:
        line, col = (err.mark.line, err.mark.col) if err.mark else (1, 1)
        findings.append(Finding("QV701", f"{err.code} {err.detail}", POLICY, line, col))
        return None
    issues = check("ApprovalPolicy", doc.data) if isinstance(doc.data, dict) else None
    if issues is None:
        findings.append(Finding("QV701", f"{POLICY} is not a mapping", POLICY, 1, 1))
        return None
    if issues:
        findings += [_schema_finding(doc, issue) for issue in issues]
        return None
    return ApprovalPolicy.model_validate(doc.data), doc


def _schema_finding(doc: LoadedDoc, issue: Any) -> Finding:
    from qv_config.findings import dotted

    where = doc.position(issue.path)
    line, col = (where.line, where.col) if where is not None else (1, 1)
    field = dotted(issue.path)
    return Finding("QV702", issue.message, POLICY, line, col, kind="ApprovalPolicy", field=field)


def warning(code: str, message: str, line: int, col: int, field: str = "") -> Finding:
    return Finding(code, message, POLICY, line, col, Severity.WARNING, field=field)
