"""Schemathesis over the suite's OpenAPI, through real HTTP, with every check it has.

No request gets a 5xx, and every answer is one the document describes (status,
headers, content type, body schema, Allow on 405, auth as declared), so the
document cannot drift from the server.

The suite runs under uvicorn in a thread of its own (with its own event loop),
so the generated tests stay plain synchronous functions that schemathesis and
Hypothesis drive without anyio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import anyio
import pytest
import schemathesis
import uvicorn
from begasist_core import (
    ChannelState,
    Direction,
    GuestIdentity,
    Message,
    StreamNames,
    redis_from_url,
)
from begasist_suite.app import create_app
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.config import SuiteSettings
from begasist_suite.store.records import (
    ChannelConfig,
    ChannelStatus,
    Credential,
    CredentialKind,
    Draft,
    Hotel,
    Role,
)
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store, draft_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from tests.suite.conftest import TEST_SECRET_KEY, add_member

EXAMPLES_PER_OPERATION = 25
STARTUP_SECONDS = 20.0
DELETE_HOTEL = "DELETE /api/v1/hotels/{hotel}"
"""Given the seeded hotel it would empty the run: it gets a hotel of its own."""
SKIPPED_PATHS = r"/live$"
"""The WebSocket: not an HTTP operation schemathesis can call."""


ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 429]
"""What a schema-valid request may get (the checks' default): refusals of the caller,
never of the data."""
CONFIG = SchemathesisConfig.from_dict(
    {
        # A body the schema allows can still be over the suite's byte limit (JSON Schema has
        # no way to bound a document's size): 413 is an answer about size, not shape.
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 413]}},
        "operations": [
            {
                # Channel settings are validated by the channel plugin's own model (published
                # at GET /api/v1/channel-types), which the path's {channel} picks: the
                # document cannot hold one body schema per path value, so it says "object"
                # and a well-formed object may still be refused with 422 and field errors.
                "include-path-regex": r"/channels/\{channel\}$|/channel-apps/\{channel\}$",
                "include-method": "PUT",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 413, 422]}
                },
            },
            {
                # A template reply is refused (422) when the conversation's channel sends no
                # templates: a fact about the stored conversation, not the body's shape.
                "include-path": "/api/v1/hotels/{hotel}/conversations/{conversation_id}/messages",
                "include-method": "POST",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 413, 422]}
                },
            },
            {
                # A hotel's time zone must be one the server's zone database has (422): which
                # names exist is a fact of the server's tzdata, not of the body's shape.
                "include-path": "/api/v1/hotels/{hotel}",
                "include-method": "PATCH",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 413, 422]}
                },
            },
        ],
    }
)


@dataclass(frozen=True)
class ServedSuite:
    url: str
    admin_token: str
    known: dict[str, str]
    """Path parameter -> an id that exists, so cases reach past the 404s."""


async def seed(store: Store) -> tuple[str, dict[str, str]]:
    """A hotel with a manager, a conversation, a pending draft, a channel: the admin's
    token and the ids that exist."""
    admin = await add_member(store, "plaza", "admin@begasist.test", None, platform_admin=True)
    manager = await add_member(store, "plaza", "manager@plaza.test", Role.MANAGER)
    token = new_secret("api_token")
    await store.add_credential(
        Credential(digest=digest(token), kind=CredentialKind.API_TOKEN, user_id=admin.id)
    )
    await store.put_channel_config(
        ChannelConfig(hotel="plaza", channel="demo", settings={"mode": "supervised"})
    )
    await store.record_channel_state(
        ChannelStatus(hotel="plaza", channel="demo", state=ChannelState.RUNNING)
    )
    recorded = await store.record_inbound(
        Message(
            hotel="plaza",
            channel="demo",
            conversation_key="+34600000001",
            direction=Direction.INBOUND,
            guest=GuestIdentity(channel="demo", address="+34600000001"),
            text="What time is breakfast?",
            provider_message_id="wamid-1",
        )
    )
    await store.add_draft(
        Draft(
            id=draft_id(recorded.message.id),
            hotel="plaza",
            conversation_id=recorded.conversation.id,
            message_id=recorded.message.id,
            text="Breakfast is 7:00-10:30.",
            responder="faq",
        )
    )
    await store.create_hotel(Hotel(slug="doomed", name="Doomed"))
    known = {
        "hotel": "plaza",
        "channel": "demo",
        "conversation_id": recorded.conversation.id,
        "draft_id": draft_id(recorded.message.id),
        "guest_id": recorded.conversation.guest_id or "",
        "user_id": manager.id,
    }
    return token, known


@pytest.fixture(scope="module")
def served_suite(
    begasist_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedSuite]:
    """The whole suite (consumer on) on a free port, seeded, in a thread; stopped afterwards."""
    names = StreamNames(prefix=f"begasist-fuzz-{uuid4().hex[:12]}")
    database = Path(tmp_path_factory.mktemp("fuzz")) / "suite.sqlite3"
    ready = threading.Event()
    served: dict[str, Any] = {}

    async def serve() -> None:
        store = Store(SqliteDatabase(database))
        redis = redis_from_url(begasist_redis_url)
        try:
            await store.migrate()
            served["token"], served["known"] = await seed(store)
            app = create_app(
                SuiteSettings(
                    redis_url=begasist_redis_url,
                    prefix=names.prefix,
                    secret_key=TEST_SECRET_KEY,
                    cookie_secure=False,
                    login_attempts=1000,
                ),
                store=store,
                redis=redis,
            )
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
            )
            served["server"] = server
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(server.serve)
                with anyio.fail_after(STARTUP_SECONDS):
                    # uvicorn offers a flag to poll, no event to wait on
                    while not server.started:  # noqa: ASYNC110
                        await anyio.sleep(0.01)
                served["port"] = server.servers[0].sockets[0].getsockname()[1]
                ready.set()
        finally:
            keys = [key async for key in redis.scan_iter(match=f"{names.prefix}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
            await store.aclose()

    def run() -> None:
        try:
            anyio.run(serve)
        except BaseException as error:
            served["error"] = error
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="fuzzed-suite", daemon=True)
    thread.start()
    ready.wait(STARTUP_SECONDS)
    if "port" not in served:
        raise RuntimeError(f"the suite did not start: {served.get('error')!r}")
    try:
        yield ServedSuite(
            url=f"http://127.0.0.1:{served['port']}",
            admin_token=served["token"],
            known=served["known"],
        )
    finally:
        served["server"].should_exit = True
        thread.join(STARTUP_SECONDS)
    if "error" in served:
        raise served["error"]


@pytest.fixture(scope="module")
def api_schema(served_suite: ServedSuite) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{served_suite.url}/schema/openapi.json", config=CONFIG)
    return schema.exclude(path_regex=SKIPPED_PATHS)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def with_known_ids(
    strategy: st.SearchStrategy[schemathesis.Case], known: dict[str, str]
) -> st.SearchStrategy[schemathesis.Case]:
    """Cases whose path parameters are, half the time, ids that exist (else as generated)."""

    def pin(drawn: tuple[schemathesis.Case, bool]) -> schemathesis.Case:
        case, use_known = drawn
        if use_known and case.path_parameters:
            for name in case.path_parameters:
                if name in known:
                    case.path_parameters[name] = known[name]
        return case

    return st.tuples(strategy, st.booleans()).map(pin)


def failures_of(
    served: ServedSuite,
    schema: schemathesis.BaseSchema,
    call: Callable[[schemathesis.Case], Any],
) -> list[str]:
    """Run *call* on valid and invalid cases of every operation; each failing one, with why."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        generated = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        known = served.known
        if operation.label == DELETE_HOTEL:
            known = {**known, "hotel": "doomed"}

        @FUZZ_SETTINGS
        @given(case=with_known_ids(generated, known))
        def fuzz(case: schemathesis.Case) -> None:
            call(case)

        try:
            fuzz()
        except (Exception, FailureGroup) as error:  # every operation runs; all are reported
            failures.append(f"{operation.label}: {error}")
    return failures


def test_a_platform_admin_gets_only_documented_answers(
    api_schema: schemathesis.BaseSchema, served_suite: ServedSuite
) -> None:
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=served_suite.url,
            headers={"Authorization": f"Bearer {served_suite.admin_token}"},
        )

    failures = failures_of(served_suite, api_schema, call)
    assert not failures, "\n\n".join(failures)


def test_an_anonymous_caller_gets_only_documented_answers(
    api_schema: schemathesis.BaseSchema, served_suite: ServedSuite
) -> None:
    def call(case: schemathesis.Case) -> Any:
        return case.call_and_validate(base_url=served_suite.url)

    failures = failures_of(served_suite, api_schema, call)
    assert not failures, "\n\n".join(failures)
