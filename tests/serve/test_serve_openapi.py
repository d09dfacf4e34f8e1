"""Property test of the API against its own OpenAPI description (schemathesis, every check):
generated requests, valid and not, get documented statuses and bodies, never a server error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from qv_config.client import ConfigClient
from qv_config.serve import tokens
from tests.serve.conftest import Synced, make_app

schemathesis = pytest.importorskip("schemathesis")
EXAMPLES = 40


def test_the_api_keeps_to_its_description(
    client: ConfigClient, synced: Synced, tmp_path: Path
) -> None:
    from hypothesis import given

    path = tmp_path / "tokens.yaml"
    token = tokens.add(path, "schemathesis", ["dev"], secrets_read=False)
    app = make_app(client, synced.root, tokens=tokens.load(path, "dev"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11, [o.label for o in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(headers=auth)

        check()
