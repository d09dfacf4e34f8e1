"""``policy/approvals.yaml``: who must approve what (SPEC §7, docs/approvals.md).

Not a document of an environment: it is read at the *base* revision of a change by
``qv_config.approvals`` and checked by ``qv validate`` (QV7xx). The model is strict like every
kind; references between its parts (groups, principals) are checked by the QV703 rule.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from qv_config.models.common import Metadata, QvModel

ChangeType = Literal["loosen", "tighten", "add", "remove", "any", "policy"]
Source = Literal["signed", "github"]
Group = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
Identity = Annotated[
    str,
    Field(
        pattern=r"^[^\s@,\"*?!]+@[^\s@,\"*?!]+$",
        description="e-mail identity, as a principal of policy/allowed_signers",
    ),
]
Login = Annotated[str, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")]


class Principal(QvModel):
    identity: Identity
    groups: list[Group] = Field(default=[])
    github: Login | None = Field(default=None, description="forge login that maps to this person")


class Rule(QvModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
    description: str | None = None
    environments: list[str] = Field(
        default=["*"], min_length=1, description="environment names or globs"
    )
    kinds: list[str] | None = Field(default=None, description="document kinds (default: all)")
    selectors: list[str] | None = Field(
        default=None, description="kind-slug/name globs, e.g. strategy/* (default: all)"
    )
    changes: list[ChangeType] = Field(default=["any"], min_length=1)
    count: Annotated[int, Field(ge=1, le=100)]
    from_groups: list[Group] | None = Field(
        default=None, description="approvers count only when in one of these groups"
    )


class ApprovalPolicySpec(QvModel):
    sources: list[Source] = Field(default=["signed"], min_length=1)
    separation_of_duties: bool = True
    principals: list[Principal] = Field(default=[])
    rules: list[Rule] = Field(default=[])


class ApprovalPolicy(QvModel):
    apiVersion: Literal["qv/v1"]
    kind: Literal["ApprovalPolicy"]
    metadata: Metadata
    spec: ApprovalPolicySpec
