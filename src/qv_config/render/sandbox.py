"""The Jinja2 sandbox of SPEC §3.4 and its per-process compile memo (no compiled code is kept on
disk: issue 10).

Jinja2 is imported only when the first template string is met: most documents hold none, and
``qv --help`` must not pay for it. A template may read only its context (``env``, ``project``,
``doc``): no loader (so ``include``/``import``/``extends`` cannot read files), no unsafe globals,
no attribute or item starting with ``_`` (the classic ``''.__class__.__mro__`` escape).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache, lru_cache, partial
from typing import TYPE_CHECKING, Any, NamedTuple

from qv_config.render import bounds, callbounds, capture, filterbounds

if TYPE_CHECKING:
    from jinja2 import UndefinedError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

# "{{ expr }}" and nothing else: the value keeps the expression's native type.
_SINGLE = re.compile(r"\{\{(?P<expr>.*)\}\}", re.S)


class TemplateProblem(Exception):
    """A template string failed; ``code`` is QV230, QV231 or QV232."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Pieces = dict[str, str]  # expression -> its text, in one (env, project) context


class Compiled(NamedTuple):
    """A compiled template string: ``run(context)`` returns its value or raises TemplateProblem.
    (A tuple: one is made per distinct string, thousands of them in an environment's Configs.)"""

    run: Callable[[dict[str, Any]], Any]
    uses_doc: bool  # False: the value depends on env/project only, so it can be reused per env
    # Spliced strings only: ``run`` that takes and keeps, in the caller's ``Pieces``, the text of
    # each expression that reads no ``doc`` and took no step (``Walker``: one context, thousands
    # of distinct strings over a few expressions such as ``{{ env.vars.db_host }}``).
    run_kept: Callable[[dict[str, Any], Pieces], Any] | None = None


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def prepare() -> None:
    """Build the sandbox now (Jinja2's import and environment, ~50 ms): before forking workers
    that would each build it."""
    _environment()


@cache
def _environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class QvSandbox(ImmutableSandboxedEnvironment):
        # The operators that can make large values or take long (render/callbounds.py).
        intercepted_binops = frozenset({"*", "**", "%", "+"})
        # Captured text and ``~`` joins counted while they grow (render/capture.py).
        code_generator_class = capture.code_generator()
        qv_captured = capture.Captured
        qv_concat = staticmethod(bounds.concat)

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            return not attr.startswith("_") and super().is_safe_attribute(obj, attr, value)

        def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
            # Fail loudly instead of returning an undefined that might be swallowed.
            raise SecurityError(f"access to attribute {attribute!r} is not allowed")

        def getattr(self, obj: Any, attribute: str) -> Any:
            if attribute.startswith("_"):
                raise SecurityError(f"access to attribute {attribute!r} is not allowed")
            return super().getattr(obj, attribute)

        def getitem(self, obj: Any, argument: Any) -> Any:
            if isinstance(argument, str) and argument.startswith("_"):
                raise SecurityError(f"access to item {argument!r} is not allowed")
            return super().getitem(obj, argument)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            callbounds.on_binop(operator, left, right)
            return super().call_binop(context, operator, left, right)

        def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
            callbounds.on_call(obj, args, kwargs)
            result = super().call(context, obj, *args, **kwargs)
            bounds.current().clock()  # one slow call is stopped once it returns
            return bounds.check_value(result, "the call's result")

    # finalize: every printed value is checked for size before str() makes it text.
    env = QvSandbox(
        undefined=StrictUndefined, autoescape=False, loader=None, finalize=bounds.check_value
    )
    for name in ("cycler", "joiner", "namespace", "lipsum"):
        env.globals.pop(name, None)
    env.globals["range"] = bounds.bounded_range
    # Rendering is a function of the files: the same tree renders the same desired state (its
    # digest, drift and the caches rely on it). ``random`` is Jinja2's one filter that is not.
    env.filters.pop("random", None)
    filterbounds.wrap_filters(env.filters)
    return env


def sealed_value(field: str) -> Any:
    """What a template sees for the secret at ``field`` (``render.sealing``): any use of it
    fails (QV231), naming the field; it holds no value to show."""
    return _sealed_class()(hint=field, exc=_secret_read())


@cache
def _sealed_class() -> type[Any]:
    from jinja2 import StrictUndefined

    class Sealed(StrictUndefined):
        __slots__ = ()
        qv_sealed = True  # templating._described

        def __repr__(self) -> str:  # so str() of a mapping holding it (``{{ env.vars }}``) fails
            self._fail_with_undefined_error()

    return Sealed


@cache
def _secret_read() -> type[UndefinedError]:
    """The error of a template's use of a sealed secret (its message: the field's name)."""
    from jinja2 import UndefinedError

    return type("SecretRead", (UndefinedError,), {})


def _static_check(tree: Any) -> None:
    """Reject file access and ``_`` attributes before anything runs (QV231)."""
    from jinja2 import nodes

    for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        raise TemplateProblem(
            "QV231", f"'{type(node).__name__.lower()}' is not allowed: templates cannot read files"
        )
    # ``self`` is no global: Jinja's code generator makes it (a reference to the template's
    # blocks, whose text ``self.a()`` joins outside any bound) wherever the name is read.
    if any(node.name == "self" for node in tree.find_all(nodes.Name)):
        raise TemplateProblem("QV231", "'self' is not allowed: blocks cannot be called")
    # find_all visits a chain ``a._b._c`` from its outer end: name the first one written.
    hidden = [node.attr for node in tree.find_all(nodes.Getattr) if node.attr.startswith("_")]
    if hidden:
        raise TemplateProblem("QV231", f"access to attribute {hidden[-1]!r} is not allowed")
    named: list[tuple[Any, str]] = [(item.arg, "item") for item in tree.find_all(nodes.Getitem)]
    for flt in tree.find_all(nodes.Filter):  # {{ x | attr('_y') }}
        if flt.name == "attr" and flt.args:
            named.append((flt.args[0], "attribute"))
    for arg, what in named:
        if isinstance(arg, nodes.Const) and str(arg.value).startswith("_"):
            raise TemplateProblem("QV231", f"access to {what} {arg.value!r} is not allowed")


def _single_expression(text: str) -> str | None:
    match = _SINGLE.fullmatch(text)
    if match is None:
        return None
    expr = match.group("expr")
    return None if ("{{" in expr or "}}" in expr or "{%" in expr) else expr


@lru_cache(maxsize=8192)
def compile_template(text: str) -> Compiled | TemplateProblem:
    """Compile once per distinct string; failures are cached too (returned, not raised)."""
    spliced = _spliced(text)
    return spliced if spliced is not None else _compile_whole(text)


# Text with only ``{{ expr }}`` blocks (no statements, comments, whitespace control, CR or
# trailing newline, which Jinja would alter) renders as its literal pieces joined with str() of
# each expression. Configs repeat a few expressions inside thousands of distinct strings
# ("postgres://{{ env.vars.db_host }}:5432/svc_0042"): compiling each *expression* once instead
# of each string removes ~1 ms of Jinja code generation per distinct string.
_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
_PLAIN_EXPR = re.compile(r"[^{}'\"+\-][^{}'\"]*[^{}'\"+\-]|[^{}'\"+\-]")


def _spliced(text: str) -> Compiled | None:
    if "{%" in text or "{#" in text or "\r" in text or text.endswith("\n"):
        return None
    pieces = _EXPR.split(text)
    literal = "".join(pieces[0::2])
    if len(pieces) < 3 or "{{" in literal or "}}" in literal:
        return None  # unbalanced braces: let Jinja report it
    if len(pieces) == 3 and not pieces[0] and not pieces[2]:
        return None  # a single expression keeps its native type: the whole path handles it
    parts: list[tuple[str, Callable[..., Any], bool]] = []
    uses_doc = False
    for expr in pieces[1::2]:
        item = _plain_expression(expr)
        if item is None:
            return None  # anything unusual (or wrong) goes through Jinja whole, errors included
        parts.append((expr, *item))
        uses_doc = uses_doc or item[1]

    def render(context: dict[str, Any], kept: Pieces | None = None) -> str:
        out = list(pieces)
        for pos, (expr, func, reads_doc) in enumerate(parts):
            if kept is None or reads_doc:
                out[2 * pos + 1] = _printed(func, context)
            else:
                known = kept.get(expr)
                out[2 * pos + 1] = known if known is not None else _kept(func, context, expr, kept)
        return bounds.joined(out)

    def run_kept(context: dict[str, Any], kept: Pieces) -> Any:
        return _guarded(partial(render, kept=kept), context, text)

    return Compiled(_text_runner(render, text), uses_doc, run_kept)


def _printed(func: Callable[..., Any], context: dict[str, Any]) -> str:
    """What Jinja prints for one expression (no autoescape; finalize only checks the size)."""
    return str(bounds.check_value(func(**context)))


def _kept(func: Callable[..., Any], context: dict[str, Any], expr: str, kept: Pieces) -> str:
    """``_printed``, kept when the expression took no step: then it cannot have counted against
    the document's budget (steps, clock), and in the same context it prints the same text."""
    budget = bounds.current()
    steps = budget.steps
    text = _printed(func, context)
    if budget.steps == steps:
        kept[expr] = text
    return text


@lru_cache(maxsize=1024)
def _plain_expression(expr: str) -> tuple[Callable[..., Any], bool] | None:
    """``_compile_expression`` of an expression without braces, quotes or a leading or trailing
    operator; None for any other (thousands of distinct strings repeat a few expressions)."""
    return _compile_expression(expr) if _PLAIN_EXPR.fullmatch(expr) else None


@lru_cache(maxsize=1024)
def _compile_expression(expr: str) -> tuple[Callable[..., Any], bool] | None:
    """One ``{{ expr }}`` checked like a whole template; None when it does not compile cleanly."""
    from jinja2 import TemplateSyntaxError, meta

    env = _environment()
    try:
        tree = env.parse("{{" + expr + "}}")
        _static_check(tree)
        func = env.compile_expression(expr, undefined_to_none=False)
    except (TemplateSyntaxError, TemplateProblem, RecursionError):
        return None
    return func, "doc" in meta.find_undeclared_variables(tree)


@lru_cache(maxsize=8192)
def _compile_whole(text: str) -> Compiled | TemplateProblem:
    from jinja2 import TemplateSyntaxError, meta

    env = _environment()
    expr = _single_expression(text)
    try:
        tree = env.parse(text)
        _static_check(tree)
        uses_doc = "doc" in meta.find_undeclared_variables(tree)
        tree = bounds.instrument(tree)
        if expr is not None:
            compiled = env.compile_expression(expr, undefined_to_none=False)
            return Compiled(_native_runner(compiled, text), uses_doc)
        template = env.from_string(tree)
        return Compiled(_text_runner(_output(template), text), uses_doc)
    except TemplateSyntaxError as err:
        message = f"template syntax error: {err.message}"
        if err.message == "No filter named 'random'.":
            message += " Rendering is deterministic in qv: choose the value in the file."
        return TemplateProblem("QV232", message)
    except TemplateProblem as problem:
        return problem
    except RecursionError:
        return TemplateProblem("QV232", "template nested too deeply to compile: flatten it")


def _output(template: Any) -> Callable[[dict[str, Any]], str]:
    """The template's text, its size counted while it is produced (render/bounds.py)."""
    return lambda context: bounds.joined(template.generate(context))


def _guarded(func: Callable[[dict[str, Any]], Any], context: dict[str, Any], source: str) -> Any:
    try:
        return func(context)
    except TemplateProblem:
        raise
    except Exception as err:  # any evaluation failure of user input: division by zero, bad filter
        raise _problem(err, source) from None


def _problem(err: Exception, source: str) -> TemplateProblem:
    """The finding of a template that raised ``err`` (Jinja2's classes are imported here, on a
    failure, not on every run)."""
    from jinja2 import UndefinedError
    from jinja2.exceptions import SecurityError

    if isinstance(err, _secret_read()):
        return TemplateProblem(
            "QV231", f"{err.message} is a secret: templates cannot read secrets (docs/secrets.md)"
        )
    if isinstance(err, UndefinedError):
        return TemplateProblem("QV230", _undefined_message(source, err.message or ""))
    if isinstance(err, SecurityError):
        return TemplateProblem("QV231", f"sandbox violation: {err}")
    if isinstance(err, bounds.Exceeded):
        return TemplateProblem(err.code, err.message)
    if isinstance(err, RecursionError):
        message = "template recursion too deep: does a macro call itself without end?"
        return TemplateProblem("QV233", message)
    return TemplateProblem("QV232", f"template error: {type(err).__name__}: {err}")


def _undefined_message(source: str, detail: str) -> str:
    """Name the variable as written (``env.vars.nope``), not as Jinja puts it ('dict object'...)."""
    from jinja2 import nodes

    match = re.search(r"has no attribute '([^']*)'|^'([^']*)' is undefined", detail)
    missing = next((g for g in match.groups() if g), "") if match else ""
    for node in _environment().parse(source).find_all(nodes.Getattr):
        if node.attr == missing:
            return f"undefined template variable {_dotted(node)} in {source!r}"
    if missing:
        return f"undefined template variable {missing} in {source!r}"
    return f"undefined template variable in {source!r}: {detail}"


def _dotted(node: Any) -> str:
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr):
        return f"{_dotted(node.node)}.{node.attr}"
    if isinstance(node, nodes.Name):
        return str(node.name)
    return "(...)"


def _text_runner(render: Callable[..., str], source: str) -> Callable[[dict[str, Any]], Any]:
    return lambda context: _guarded(render, context, source)


def _native_runner(expression: Callable[..., Any], source: str) -> Callable[[dict[str, Any]], Any]:
    def run(context: dict[str, Any]) -> Any:
        return _guarded(
            lambda ctx: _to_json(bounds.check_value(expression(**ctx))), context, source
        )

    return run


def _key(key: Any) -> Any:
    return str(key) if isinstance(key, str) else key  # drops Markup; anything else is kept


def _to_json(value: Any) -> Any:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return str(value)  # drops Markup and other str subclasses
    if isinstance(value, list | tuple | range):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        # A key that is not text stays as it is: canonical JSON reports it (QV408, located), as
        # it reports any value it cannot hold. str() would rename ``true`` to "True" and merge
        # ``1.0`` with '1.0' without a word (and ``{true: a, 1: b}`` is one key to Python).
        return {_key(key): _to_json(item) for key, item in value.items()}
    raise TemplateProblem("QV232", f"expression gives a {type(value).__name__}, not a JSON value")
