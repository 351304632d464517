"""schemathesis against the API's own OpenAPI schema: generated requests (valid and invalid)
to every route, against a real server, a real PostgreSQL holding a journey and the real
broker; no 5xx, and every answer conforms to the documented status codes and schemas.

The live stream is left out (it never ends by design; its tests are in test_agent_view).
The `positive_data_acceptance` check is off: some schema-valid requests are rightly refused
with a documented 400 that JSON Schema cannot express (an impossible phone number, a cursor
this API did not issue, `since` after `until`).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.schemas import APIOperation, BaseSchema

from api.app import create_app
from profile_store.storage.engines import make_async_engine
from profile_store.write.writer import TimelineWriter
from tests.support.api import ADMIN, api_settings, running_api
from tests.support.journey import maria_journey, other_customers

pytestmark = pytest.mark.integration

#: Generated requests per operation and kind of run: enough to find what fails, bounded so
#: the whole test stays well under a minute.
EXAMPLES = 20
#: The ids the OpenAPI examples use, so the explicit examples reach real data.
EXAMPLE_IDS = ("cus_4f0c2a", "cus_9b17e3")


async def _seed(url: str) -> None:
    engine = make_async_engine(url, pool_size=1)
    ids = itertools.chain(EXAMPLE_IDS, (f"cus_generated_{n}" for n in itertools.count()))
    try:
        writer = TimelineWriter(engine, make_id=lambda: next(ids))
        now = datetime.now(UTC)
        await writer.write(maria_journey(now))
        await writer.write(other_customers(now))
    finally:
        await engine.dispose()


@pytest.fixture
def api_schema(clean_db: str, kafka_bootstrap: str) -> Iterator[BaseSchema]:
    # The writer is async; run it on its own loop in a worker thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _seed(clean_db)).result()
    # No per-key rate limit: generated requests should reach the routes, not stop at a 429
    # (which the schema documents on every keyed operation).
    settings = api_settings(clean_db, kafka_bootstrap=kafka_bootstrap, rate_limit_per_s=0)
    app = create_app(settings)
    with running_api(app) as base:
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def _runs(operation: APIOperation) -> list[tuple[str, SearchStrategy[Case]]]:
    """Random valid requests, the same aimed at real customers, and invalid requests."""
    runs = [
        ("positive", operation.as_strategy(GenerationMode.POSITIVE)),
        ("negative", operation.as_strategy(GenerationMode.NEGATIVE)),
    ]
    if "{customer_id}" in operation.path:
        for customer_id in EXAMPLE_IDS:
            known = operation.as_strategy(path_parameters={"customer_id": customer_id})
            runs.append((f"positive {customer_id}", known))
    return runs


def _authorise(case: Case) -> None:
    """A valid admin key wherever schemathesis generated a valid bearer header; cases that
    break the security scheme (no header, a malformed one) go out as generated."""
    components = case.meta.components if case.meta else {}
    header = components.get(ParameterLocation.HEADER)
    if "Authorization" in case.headers and (header is None or header.mode.is_positive):
        case.headers["Authorization"] = f"Bearer {ADMIN}"


def test_api_conforms_to_its_openapi_schema(api_schema: BaseSchema) -> None:
    # schemathesis' own pytest plugin (from_fixture) does not run on pytest 9, so each
    # operation gets a Hypothesis test here; a failure names the operation and the case.
    tested = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/stream"):
            continue
        for label, strategy in _runs(operation):

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                phases=[Phase.explicit, Phase.generate],
            )
            def check(case: Case) -> None:
                _authorise(case)
                case.call_and_validate(timeout=10, excluded_checks=[positive_data_acceptance])

            try:
                check()
            except Unsatisfiable:
                # Nothing to break in a request without parameters or auth (/healthz).
                assert label == "negative" and not list(operation.iter_parameters())
            except Exception as exc:
                raise AssertionError(f"{operation.label} ({label}): {exc}") from exc
        tested.append(operation.label)
    assert len(tested) >= 10, tested
