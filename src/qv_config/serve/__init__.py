"""``qv serve``: an environment of the runtime store over HTTP, read through ``ConfigClient``
(docs/serve.md): the read API, Unleash's client API, OFREP, health and metrics."""

from qv_config.serve.app import create_app
from qv_config.serve.settings import Settings

__all__ = ["Settings", "create_app"]
