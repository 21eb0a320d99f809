"""schemathesis against /api/openapi.json: generated requests (valid and invalid) to every documented
operation, as admin and with no token; none may get a server error (5xx), and every error is problem+json. Bounded so that it stays a
few seconds in the normal suite (CREDIT_SERVICE_FUZZ_EXAMPLES raises the bound for a longer run)."""
from __future__ import annotations

import os
from dataclasses import replace

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from schemathesis import GenerationMode

from credit_service import create_app

EXAMPLES = int(os.environ.get("CREDIT_SERVICE_FUZZ_EXAMPLES", "25"))


@pytest.fixture
def fuzz_app(settings, clock):
    app = create_app(replace(settings, rate_limit="off"), clock=clock)
    yield app
    app.extensions["credit_service"].index.stop()
    app.extensions["credit_service"].engine.dispose()


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    return operations


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(fuzz_app, mode):
    from credit_service.services.clients import create_client
    container = fuzz_app.extensions["credit_service"]
    _, token = create_client(container.uow(), container.clock, "fuzz-admin", "admin")
    failures = []
    for operation in _operations(fuzz_app):
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                             suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            for headers in ({"Authorization": f"Bearer {token}"}, {}):
                response = case.call(headers=headers)
                content_type = (response.headers.get("content-type") or [""])[0]
                if response.status_code >= 500:
                    failures.append((operation.label, response.status_code, case.as_curl_command()))
                elif response.status_code >= 400 and not content_type.startswith("application/problem+json"):
                    failures.append((operation.label, response.status_code, content_type))
        run()
    assert failures == []
