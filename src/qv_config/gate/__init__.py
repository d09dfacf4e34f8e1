"""The deploy gate (SPEC §6-7): may this state go into an environment's store now?

One rule for every writer (``qv agent``, ``qv sync``): the approvals a state needs are those of
the policy of the **deployed** state (the base), never of the state that would be applied, and
anything the gate cannot read refuses. ``gate.check`` decides; ``gate.adapter`` is the one module
that asks the approvals core (``qv_config.approvals``) whether a change is approved.
"""

from qv_config.gate.check import GateDecision, check

__all__ = ["GateDecision", "check"]
