"""An OpenFeature provider over ConfigClient (``pip install 'qv-config[openfeature]'``).

    from openfeature import api
    from qv_config.client import ConfigClient
    from qv_config.client.openfeature import QvProvider

    api.set_provider(QvProvider(ConfigClient("redis://host:6379/0", "prod")))
    api.get_client().get_boolean_value("pre-trade-risk-v2", False, EvaluationContext("u1"))

Booleans are the flag's ``is_enabled``; strings, numbers and objects are its variant's payload
(``string``/``csv``, ``number``, ``json``). Reasons and error codes are OpenFeature's names;
how each is chosen is in docs/client.md ("OpenFeature"). The context's targeting key is
Unleash's ``userId``; the standard Unleash fields are read from the attributes by name and every
other attribute becomes a custom property.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode, ProviderNotReadyError
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from qv_config.client.client import ConfigClient, Update
from qv_config.client.snapshot import FlagShape

T = TypeVar("T")
Obj = Sequence[FlagValueType] | Mapping[str, FlagValueType]
# (client, flag, its shape, Unleash context) -> (value or None for the default, reason, variant)
Resolver = Callable[[ConfigClient, str, FlagShape, dict[str, Any]], tuple[Any, str, str | None]]
_STANDARD = ("userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime")


class Mismatch(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def unleash_context(context: EvaluationContext | None) -> dict[str, Any]:
    """OpenFeature's context as Unleash's: targeting key -> userId, custom attributes ->
    properties (as text: Unleash compares strings)."""
    if context is None:
        return {}
    out: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for name, value in context.attributes.items():
        text = value.isoformat() if isinstance(value, datetime) else value
        if name in _STANDARD:
            out[name] = text
        elif text is not None:
            properties[name] = text if isinstance(text, str) else json.dumps(text, default=str)
    if context.targeting_key:
        out["userId"] = context.targeting_key
    if properties:
        out["properties"] = properties
    return out


class QvProvider(AbstractProvider):
    """OpenFeature over a ConfigClient (which the caller made; ``close_client=True`` has
    ``api.shutdown()`` close it too)."""

    def __init__(
        self, client: ConfigClient, *, init_timeout: float = 10.0, close_client: bool = False
    ) -> None:
        super().__init__()
        self.client, self.init_timeout, self.close_client = client, init_timeout, close_client
        self._unsubscribe: Callable[[], None] | None = None

    def get_metadata(self) -> Metadata:
        return Metadata(name="qv")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.client.subscribe(self._on_update)
        if not self.client.wait_ready(self.init_timeout):
            raise ProviderNotReadyError(
                f"no state of {self.client.env} loaded from {self.client.url.display} yet"
            )

    def shutdown(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.close_client:
            self.client.close()

    def _on_update(self, update: Update) -> None:
        """Client events as provider events: a new state (READY the first time, then
        CONFIGURATION_CHANGED with the flags that changed), stale, fresh again."""
        if not hasattr(self, "_on_emit"):
            return  # not attached to the SDK (yet, or any more)
        meta: dict[str, bool | str | int | float] = {"revision": update.revision}
        if update.event == "stale":
            self.emit_provider_stale(ProviderEventDetails(message=update.reason, metadata=meta))
        elif update.event == "fresh" or not update.previous_revision:
            self.emit_provider_ready(ProviderEventDetails(metadata=meta))
        else:
            flags = [k.split("/", 2)[2] for k in update.changed if k.split("/")[1] == "flag"]
            details = ProviderEventDetails(flags_changed=flags, metadata=meta)
            self.emit_provider_configuration_changed(details)

    # ---- resolution -------------------------------------------------------------------------

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, _boolean)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, _payload(_string))

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, _payload(_integer))

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, _payload(_float))

    def resolve_object_details(
        self, flag_key: str, default_value: Obj, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[Obj]:
        return self._resolve(flag_key, default_value, evaluation_context, _payload(_object))

    def _resolve(
        self,
        key: str,
        default: T,
        context: EvaluationContext | None,
        how: Resolver,
    ) -> FlagResolutionDetails[T]:
        """Checks common to every type, then ``how`` -> (value or None, reason, variant)."""
        snapshot = self.client.snapshot
        if snapshot.meta is None:
            return _error(default, ErrorCode.PROVIDER_NOT_READY, "no state loaded yet")
        shape = snapshot.shapes.get(key)
        if shape is None:
            message = f"{self.client.env} has no flag {key!r} at {snapshot.revision[:12]}"
            return _error(default, ErrorCode.FLAG_NOT_FOUND, message)
        meta: dict[str, bool | str | int | float] = {"revision": snapshot.revision}
        try:
            value, reason, variant = how(self.client, key, shape, unleash_context(context))
        except Mismatch as err:
            return _error(default, err.code, str(err))
        except Exception as err:  # the SDK must get a default, never our exception
            from qv_config.errors import bug_summary

            return _error(default, ErrorCode.GENERAL, f"unexpected {bug_summary(err)}")
        if value is None:
            value = default
        return FlagResolutionDetails(value, reason=reason, variant=variant, flag_metadata=meta)


def _boolean(
    client: ConfigClient, key: str, shape: FlagShape, context: dict[str, Any]
) -> tuple[Any, str, str | None]:
    on = client.is_enabled(key, context)
    if not shape.enabled:
        return False, Reason.DISABLED, None
    if shape.static:
        return on, Reason.STATIC, None
    if shape.rollout:
        return on, Reason.SPLIT, None
    return on, Reason.TARGETING_MATCH if on else Reason.DEFAULT, None


def _error(default: T, code: ErrorCode, message: str) -> FlagResolutionDetails[T]:
    return FlagResolutionDetails(
        default, error_code=code, error_message=message, reason=Reason.ERROR
    )


def _payload(convert: Callable[[str, str | None, str], Any]) -> Resolver:
    """A resolver of the variant's payload, converted by ``convert(type, value, variant)``."""

    def resolve(
        client: ConfigClient, key: str, shape: FlagShape, context: dict[str, Any]
    ) -> tuple[Any, str, str | None]:
        chosen = client.variant(key, context)
        if not chosen.get("feature_enabled"):
            return None, Reason.DISABLED if not shape.enabled else Reason.DEFAULT, None
        if not chosen.get("enabled"):
            return None, Reason.DEFAULT, None  # on, but it has no variants: the caller's default
        name = str(chosen.get("name"))
        payload = chosen.get("payload") or {}
        value = convert(str(payload.get("type", "")), payload.get("value"), name)
        reason = Reason.SPLIT if shape.split else Reason.TARGETING_MATCH
        if shape.static and not shape.split:
            reason = Reason.STATIC
        return value, reason, name

    return resolve


def _string(kind: str, value: str | None, variant: str) -> str:
    if value is None:
        return variant  # a variant without payload: its name is the string
    if kind not in ("string", "csv"):
        raise Mismatch(ErrorCode.TYPE_MISMATCH, f"variant {variant!r} has a {kind} payload")
    return value


def _number(kind: str, value: str | None, variant: str) -> str:
    if kind != "number" or value is None:
        what = f"a {kind} payload" if value is not None else "no payload"
        raise Mismatch(ErrorCode.TYPE_MISMATCH, f"variant {variant!r} has {what}, not a number")
    return value


def _integer(kind: str, value: str | None, variant: str) -> int:
    text = _number(kind, value, variant)
    try:
        return int(text)
    except ValueError:
        raise Mismatch(
            ErrorCode.PARSE_ERROR if not _is_float(text) else ErrorCode.TYPE_MISMATCH,
            f"the payload of variant {variant!r} is not an integer",
        ) from None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _float(kind: str, value: str | None, variant: str) -> float:
    text = _number(kind, value, variant)
    if not _is_float(text):
        raise Mismatch(ErrorCode.PARSE_ERROR, f"the payload of variant {variant!r} is no number")
    return float(text)


def _object(kind: str, value: str | None, variant: str) -> Any:
    if kind != "json" or value is None:
        what = f"a {kind} payload" if value is not None else "no payload"
        raise Mismatch(ErrorCode.TYPE_MISMATCH, f"variant {variant!r} has {what}, not json")
    try:
        parsed = json.loads(value)
    except ValueError:
        raise Mismatch(
            ErrorCode.PARSE_ERROR, f"variant {variant!r}: its payload is no JSON"
        ) from None
    if not isinstance(parsed, dict | list):
        raise Mismatch(ErrorCode.TYPE_MISMATCH, f"variant {variant!r}: its JSON is no object")
    return parsed
