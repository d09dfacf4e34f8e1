"""``RenderedDoc.made`` and ``Layer.made`` (the renderer's one-step constructors) make what the
dataclasses' own ``__init__`` (and the renderer's ``json``) make: the same attributes, in the
same order, equal."""

from __future__ import annotations

from qv_config.render.types import Layer, RenderedDoc
from qv_config.yamlio import load_text


def test_made_is_the_dataclass_with_its_json() -> None:
    main = load_text("strategies/s.yaml", "kind: Strategy\n")
    layers = (Layer("template", "strategy/base", main), Layer("base", main.path, main))
    data = {"kind": "Strategy", "metadata": {"name": "s"}}
    general = RenderedDoc("dev", "Strategy", "s", data, layers, len)
    object.__setattr__(general, "json", b"{}")
    made = RenderedDoc.made("dev", "Strategy", "s", data, layers, len, b"{}")
    assert vars(made) == vars(general)
    assert list(vars(made)) == list(vars(general))
    assert made == general
    assert repr(made) == repr(general)
    assert (made.key, made.source, made.json) == ("dev/strategy/s", "strategies/s.yaml", b"{}")


def test_layer_made_is_the_dataclass() -> None:
    doc = load_text("strategies/s.yaml", "kind: Strategy\n")
    made, general = Layer.made("base", doc.path, doc), Layer("base", doc.path, doc)
    assert list(vars(made).items()) == list(vars(general).items())
    assert made == general
    assert hash(made) == hash(general)
    assert repr(made) == repr(general)
