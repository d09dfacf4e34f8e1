"""Jinja2's code generator, changed where a template makes text without any hook of the sandbox
(``render/bounds.py`` has the budget).

- Text a template *captures* — a ``{% set x %}…{% endset %}`` block, a macro's body, a
  ``{% call %}`` body, a ``{% filter %}`` block, a recursive loop — goes into a list that Jinja
  joins at the end: 400 chunks of 1 MB were 400 MB before any check. Here every such list counts
  its text as it grows, as the top-level output does (``bounds.joined``).
- ``a ~ b ~ …`` is one join of all its parts: it is counted as it grows (``bounds.concat``).
- A constant that Jinja folds while compiling is written into the generated code as its
  ``repr``: ``nan`` and ``inf`` are no Python names, so ``{{ 'nan' | float }}`` failed with a
  ``NameError``. They are defined, and the value is then reported as any non-finite number is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from qv_config.render.bounds import current


class Captured(list[str]):
    """A captured text's chunks, counted as they are appended."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def append(self, chunk: str) -> None:
        self.size += len(chunk)
        current().too_large(self.size, "the text the template captures")
        super().append(chunk)

    def extend(self, chunks: Any) -> None:
        for chunk in chunks:
            self.append(chunk)


@cache
def code_generator() -> type[Any]:
    """The generator class of the sandbox (imported with Jinja2: only when a template is met).
    The generated code reaches ``Captured`` and ``bounds.concat`` as attributes of its
    ``environment`` (``qv_captured``, ``qv_concat``)."""
    from jinja2.compiler import CodeGenerator, Frame

    class BoundedCodeGenerator(CodeGenerator):
        def buffer(self, frame: Frame) -> None:
            frame.buffer = self.temporary_identifier()
            self.writeline(f"{frame.buffer} = environment.qv_captured()")

        def visit_Concat(self, node: Any, frame: Frame) -> None:
            # Text only: qv renders no HTML (no autoescape), so Jinja's markup_join is not needed.
            self.write("environment.qv_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

        def write_commons(self) -> None:
            super().write_commons()
            # Every generated function (root, blocks; macros are nested in them) begins here.
            self.writeline("inf = float('inf'); nan = float('nan')")

    return BoundedCodeGenerator
