"""The sync agent (SPEC §6): ``qv agent`` keeps a runtime store at the tip of a Git branch.

Modules: ``source`` (mirror clone and fetch), ``walk`` (first-parent states), ``gate`` (approval
gate interface and the interim policy gate), ``lease`` (one writer per environment), ``metrics``,
``health``, ``http`` (``/metrics``, ``/healthz``), ``jsonlog`` (JSON-line logs), ``heal`` (drift
checks and self-heal), ``watch`` (etcd watch between cycles), ``pause`` (backoff, stop flag),
``loop`` (the cycle). Imports are deferred: ``qv --help`` loads none.
"""
