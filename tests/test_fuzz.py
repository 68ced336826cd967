"""API fuzzing: schemathesis against every service's OpenAPI document, over real HTTP.

The five services run as processes (`launch_platform`) on their own databases and topics. Each
operation of each service is one test that sends a bounded, derandomized set of generated
requests (valid and invalid) with an admin token; every answer must be a non-5xx whose status
code, content type, headers and body are the ones the document declares. The documents are
read from the service apps at collection time (one test per operation, named after it), and
`test_each_service_serves_the_document_that_was_fuzzed` checks that the running services serve
exactly those. A new endpoint is fuzzed the day it is added.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import RunningPlatform, launch_platform
from wafa_shared.services import SERVICES, ServiceInfo
from wafa_shared.settings import DEV_JWT_SECRET

# Per operation and phase: ~200 operations in one to three minutes on 2 cores. Raise it for a
# deeper local run: WAFA_FUZZ_EXAMPLES=50 pytest tests/test_fuzz.py
MAX_EXAMPLES = int(os.environ.get("WAFA_FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
DOCUMENTS: dict[str, dict[str, Any]] = {}
schemathesis.serializer.alias("application/x-ndjson", "text/plain")  # customer import bodies (JSON Lines) are text


def _document(info: ServiceInfo) -> dict[str, Any]:
    """The service's OpenAPI document, from its app (no database or broker needed to build it).
    Read at collection so each operation is its own test: schemathesis's fixture-based loader
    (`schemathesis.pytest.from_fixture`) fails under pytest 9.2 (it sets `Function._nodeid`)."""
    module = info.app_module()
    assert module is not None, f"service {info.name} is not installed"
    settings_ = module.Settings(env="test", database_url="postgresql+asyncpg://fuzz@localhost/fuzz", jwt_secret=DEV_JWT_SECRET)
    DOCUMENTS[info.name] = module.create_app(settings_).openapi()
    return DOCUMENTS[info.name]


def _schema(info: ServiceInfo) -> Any:
    schema = schemathesis.openapi.from_dict(_document(info))
    schema.config.generation.update(
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
    )
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return schema


@pytest.fixture(scope="module")
def fuzzed_platform(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    with launch_platform(infra, Path(tmp_path_factory.mktemp("fuzz")), name="fuzz") as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def _fuzz(service: str) -> Callable[..., None]:
    @pytest.mark.slow
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case: schemathesis.Case, fuzzed_platform: RunningPlatform, http: requests.Session) -> None:
        case.call_and_validate(
            base_url=fuzzed_platform.urls[service],
            session=http,
            headers={"Authorization": f"Bearer {fuzzed_platform.token}"},
            checks=CHECKS,
            timeout=30,
        )

    return _schema(next(s for s in SERVICES if s.name == service)).parametrize()(fuzz)


test_customer_api = _fuzz("customer")
test_loyalty_api = _fuzz("loyalty")
test_survey_api = _fuzz("survey")
test_analytics_api = _fuzz("analytics")
test_touch_scheduler_api = _fuzz("touch-scheduler")


@pytest.mark.slow
@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_each_service_serves_the_document_that_was_fuzzed(fuzzed_platform: RunningPlatform, http: requests.Session, service: str) -> None:
    served = http.get(f"{fuzzed_platform.urls[service]}/openapi.json", timeout=30).json()
    assert served == DOCUMENTS[service]
