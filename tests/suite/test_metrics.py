"""Prometheus ``/metrics`` on the suite and on a real bot's health port, after real traffic:
a WhatsApp webhook through the suite, its event consumed by a ``channelbot`` process, a
refused free-text reply, a template sent; who may read the suite's figures; and the
sample Grafana dashboard queries only metrics a scrape has."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from begasist_channels_whatsapp.testing import GraphStandin
from begasist_suite.app import create_app
from begasist_suite.config import SuiteSettings
from begasist_suite.metrics import metrics_refusal
from begasist_suite.store.store import Store
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from tests.core.redis_server import free_port
from tests.suite.conftest import RunningSuite, serving
from tests.suite.test_whatsapp_end_to_end import (  # noqa: F401 (fixtures)
    HOTEL,
    admin,
    bot_token,
    graph,
    signed_delivery,
    text_message,
    until,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

REPO = Path(__file__).parents[2]
DASHBOARD = REPO / "docs" / "grafana" / "begasist.json"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape by (name, sorted labels); the text must parse."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: Samples, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def channelbot_with_health_port(
    suite: RunningSuite, token: str, redis_url: str, log: Path, port: int
) -> Iterator[subprocess.Popen[bytes]]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")},
        "BEGASIST_REDIS_URL": redis_url,
        "BEGASIST_PREFIX": suite.names.prefix,
        "BEGASIST_SUITE_URL": suite.url,
        "BEGASIST_BOT_TOKEN": token,
        "BEGASIST_LEASE_TTL_SECONDS": "1",
        "BEGASIST_HEARTBEAT_SECONDS": "0.3",
        "BEGASIST_MEDIA_DIR": str(log.parent / "media"),
    }
    command = [
        *(sys.executable, "-m", "begasist_core.channelbot.cli"),
        *("--hotel", HOTEL, "--health-port", str(port)),
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def health_command(port: int) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("BEGASIST_")}
    environment["BEGASIST_BOT_HEALTH_PORT"] = str(port)
    return subprocess.run(
        [sys.executable, "-m", "begasist_core.channelbot.cli", "health"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_suite_and_bot_metrics_move_with_real_traffic(
    suite: RunningSuite,
    admin: httpx.AsyncClient,  # noqa: F811
    bot_token: str,  # noqa: F811
    graph: GraphStandin,  # noqa: F811
    begasist_redis_url: str,
    tmp_path: Path,
) -> None:
    log = tmp_path / "bots.log"
    api = f"/api/v1/hotels/{HOTEL}"
    health = free_port()
    before = samples((await admin.get("/metrics")).text)
    with channelbot_with_health_port(suite, bot_token, begasist_redis_url, log, health):
        # A message the guest wrote two days ago: the reply window is shut.
        old = text_message("wamid.old", "Hola") | {"timestamp": str(int(time.time()) - 48 * 3600)}
        body, headers = signed_delivery(old)

        async def accepted_webhook() -> bool:
            answer = await admin.post(f"/webhooks/{HOTEL}/whatsapp", content=body, headers=headers)
            return answer.status_code == 200

        await until(accepted_webhook, "the webhook", log)
        refused = await admin.post(f"/webhooks/{HOTEL}/whatsapp", content=body)  # unsigned
        assert refused.status_code == 401

        async def conversation() -> dict[str, Any] | None:
            items = (await admin.get(f"{api}/conversations")).json()["items"]
            return items[0] if items else None

        found = await until(conversation, "the conversation", log)
        messages_path = f"{api}/conversations/{found['id']}/messages"
        text = await admin.post(messages_path, json={"text": "¿Sigue interesado?"})
        assert text.status_code == 422, text.text
        template = {
            "name": "booking_follow_up",
            "language": "es",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sheena"}]}],
        }
        sent = await admin.post(messages_path, json={"text": "Seguimiento", "template": template})
        assert sent.status_code == 202, sent.text

        async def template_sent() -> bool:
            items = (await admin.get(messages_path)).json()["items"]
            return any(m["id"] == sent.json()["id"] and m["status"] == "sent" for m in items)

        await until(template_sent, "the template to be sent", log)
        # An entry nobody can read: the suite's consumer buries it.
        await suite.redis.xadd(suite.names.events, {b"e": b"not an event"})

        async def buried() -> bool:
            scrape = samples((await admin.get("/metrics")).text)
            name = "begasist_events_dead_lettered_total"
            return value(scrape, name, stream="events", reason="malformed") > value(
                before, name, stream="events", reason="malformed"
            )

        await until(buried, "the dead letter to be counted", log)
        answer = await admin.get("/metrics")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health}") as bot:
            bot_answer = await bot.get("/metrics")
        probe = health_command(health)
        assert probe.returncode == 0, probe.stderr
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    after = samples(answer.text)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("begasist_webhooks_total", channel="whatsapp", status="200") >= 1
    assert moved("begasist_webhooks_total", channel="whatsapp", status="401") == 1
    assert moved("begasist_webhook_ingest_seconds_count", channel="whatsapp") >= 2
    assert moved("begasist_events_published_total", stream="ingress") >= 1
    assert moved("begasist_events_published_total", stream="outbound") >= 1
    assert moved("begasist_events_consumed_total", stream="events", group="suite") >= 2
    assert moved("begasist_events_acked_total", stream="events", group="suite") >= 1
    assert moved("begasist_reply_window_refusals_total", channel="whatsapp") == 1
    assert moved("begasist_store_operation_seconds_count", operation="record_inbound") >= 1
    assert ("begasist_outbox_backlog", ()) in after
    events = (("group", "suite"), ("stream", suite.names.events))
    assert ("begasist_stream_pending", events) in after
    assert ("begasist_stream_lag", events) in after

    assert bot_answer.status_code == 200
    bot_after = samples(bot_answer.text)
    assert value(bot_after, "begasist_sends_total", channel="whatsapp", outcome="sent") == 1
    assert value(bot_after, "begasist_send_seconds_count", channel="whatsapp") == 1
    consumed = value(
        bot_after, "begasist_events_consumed_total", stream="ingress", group="channelbot"
    )
    assert consumed >= 1
    assert value(bot_after, "begasist_lease_active", hotel=HOTEL) == 1
    assert value(bot_after, "begasist_lease_takeovers_total", hotel=HOTEL) == 1
    running = {"hotel": HOTEL, "channel": "whatsapp", "state": "running"}
    assert value(bot_after, "begasist_channel_state", **running) == 1

    # Every metric the sample dashboard queries is in one of the two scrapes.
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", ())
        for name in re.findall(r"\bbegasist_[a-z_]+", target["expr"])
    }
    scraped = {name for name, _ in after} | {name for name, _ in bot_after}
    assert queried, "the dashboard queries nothing"
    assert queried <= scraped, f"not in any scrape: {sorted(queried - scraped)}"


async def test_metrics_need_the_token_when_one_is_set(
    suite_settings: SuiteSettings, suite_store: Store
) -> None:
    settings = suite_settings.model_copy(update={"metrics_token": SecretStr("scrape-token-1234")})
    async with (
        serving(create_app(settings, store=suite_store), settings) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"authorization": "Bearer scrape-token-1234"})
        proxied = await client.get(
            "/metrics",
            headers={"authorization": "Bearer scrape-token-1234", "x-forwarded-for": "203.0.113.9"},
        )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "begasist_" not in missing.text
    assert right.status_code == 200
    assert "begasist_webhooks" in right.text
    assert proxied.status_code == 200, "with a token, where it comes from does not matter"


async def test_without_a_token_what_a_proxy_relays_is_refused(suite: RunningSuite) -> None:
    async with suite.client() as client:
        direct = await client.get("/metrics")
        relayed = {
            header: (await client.get("/metrics", headers={header: value})).status_code
            for header, value in (
                ("x-forwarded-for", "203.0.113.9"),
                ("forwarded", "for=203.0.113.9"),
                ("x-real-ip", "203.0.113.9"),
            )
        }
        posted = await client.post("/metrics")
    assert direct.status_code == 200
    assert relayed == {"x-forwarded-for": 403, "forwarded": 403, "x-real-ip": 403}
    assert posted.status_code == 405


@pytest.mark.parametrize(
    ("client", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("172.18.0.5", True),
        ("192.168.1.20", True),
        ("fd00::5", True),
        ("::ffff:10.0.0.7", True),
        ("8.8.8.8", False),
        ("93.184.216.34", False),
        ("::ffff:8.8.8.8", False),
        ("2001:4860:4860::8888", False),
    ],
)
def test_without_a_token_only_loopback_and_private_addresses_may_read(
    client: str, allowed: bool
) -> None:
    scope: Any = {"type": "http", "client": (client, 40000), "headers": []}
    assert (metrics_refusal(scope, None) is None) is allowed
