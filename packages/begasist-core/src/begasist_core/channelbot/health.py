"""The bot's optional health port: ``/health``, ``/ready`` and ``/metrics`` over HTTP/1.1.

A few lines of anyio and h11 (already under httpx) rather than a web
framework: three read-only GET routes, one request per connection, answered
from what the bot has in memory plus one Redis round trip.

* ``/health``: liveness, the event loop answers (200).
* ``/ready``: 200 with each hotel's lease state (``active`` or ``standby``: a
  standby is ready, it is what it should be) and its channels' states, and
  whether Redis answers; 503 with the reason when Redis does not answer or a
  channel the bot should run has failed (``backoff``: it crashed and waits to
  restart). ``disabled`` and ``misconfigured`` channels are the hotel's
  settings, not the bot's health: reported, and ready.
* ``/metrics``: Prometheus text, the process's counters
  (:mod:`begasist_core.metrics`) then the figures of this bot's hotels read now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Final, Literal

import anyio
import h11
from anyio.abc import SocketAttribute, SocketStream
from anyio.streams.stapled import MultiListener
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import BaseModel
from redis.asyncio import Redis

from begasist_core.bus.stream_info import stream_group_metrics
from begasist_core.channelbot.hotel import HotelBot
from begasist_core.channelbot.streams import CONSUMER_GROUP
from begasist_core.events.payloads import ChannelState
from begasist_core.events.streams import StreamNames
from begasist_core.metrics import CONTENT_TYPE, exposition

__all__ = ["BotReadiness", "HealthPortUnavailable", "HealthServer", "HotelReadiness"]

log = logging.getLogger("begasist.channelbot.health")

PROBE_SECONDS: Final = 2.0
"""How long Redis gets to answer a readiness probe's PING."""
REQUEST_SECONDS: Final = 5.0
"""A connection that has not sent its request this long after opening is closed."""
MAX_REQUEST_BYTES: Final = 8192
FAILED_STATES: Final = frozenset({ChannelState.BACKOFF})


class HealthPortUnavailable(Exception):
    """The health port could not be opened (in use, or the address is not this machine's)."""


class HotelReadiness(BaseModel):
    lease: Literal["active", "standby"]
    channels: dict[str, ChannelState]
    """Each channel's state while active (a standby runs none)."""


class BotReadiness(BaseModel):
    """What ``/ready`` answers."""

    status: Literal["ready", "not ready"]
    redis: str
    """``ok``, or why the PING failed (the error's type only: a message may hold a URL)."""
    hotels: dict[str, HotelReadiness]
    reason: str | None = None


class HealthServer:
    """Serves the health port for the hotel bots *bots* returns (those running now) until
    cancelled."""

    def __init__(
        self,
        bots: Callable[[], Sequence[HotelBot]],
        redis: Redis,
        names: StreamNames,
        *,
        host: str,
        port: int,
    ) -> None:
        self._bots = bots
        self._redis = redis
        self._names = names
        self.host = host
        self.port = port
        self._listener: MultiListener[SocketStream] | None = None

    async def listen(self) -> int:
        """Open the port (raising :class:`HealthPortUnavailable`); return the bound port."""
        try:
            self._listener = await anyio.create_tcp_listener(
                local_host=self.host, local_port=self.port
            )
        except OSError as error:
            raise HealthPortUnavailable(
                f"cannot listen on {self.host}:{self.port} (BEGASIST_BOT_HEALTH_HOST, "
                f"BEGASIST_BOT_HEALTH_PORT): {error.strerror or error}"
            ) from None
        self.port = int(self._listener.extra(SocketAttribute.local_port))
        log.info("health port: http://%s:%d (/health, /ready, /metrics)", self.host, self.port)
        return self.port

    async def serve(self) -> None:
        """Answer on the port :meth:`listen` opened until cancelled; then close it."""
        assert self._listener is not None, "listen() first"
        async with self._listener:
            await self._listener.serve(self._connection)

    async def readiness(self) -> BotReadiness:
        redis = await self._ping()
        hotels: dict[str, HotelReadiness] = {}
        failing: list[str] = [] if redis == "ok" else [f"redis: {redis}"]
        for bot in self._bots():
            active = bot.active
            channels = (
                {name: running.supervisor.state for name, running in sorted(bot.channels.items())}
                if active
                else {}
            )
            hotels[bot.hotel] = HotelReadiness(
                lease="active" if active else "standby", channels=channels
            )
            failing.extend(
                f"hotel {bot.hotel}: channel {name}: {state.value}"
                for name, state in channels.items()
                if state in FAILED_STATES
            )
        return BotReadiness(
            status="not ready" if failing else "ready",
            redis=redis,
            hotels=hotels,
            reason="; ".join(failing) or None,
        )

    async def metrics(self) -> bytes:
        redis_up = await self._ping() == "ok"
        up = GaugeMetricFamily("begasist_bot_redis_up", "1 when Redis answered this scrape's PING.")
        up.add_metric([], 1.0 if redis_up else 0.0)
        active = GaugeMetricFamily(
            "begasist_lease_active",
            "1 while this process holds the hotel's lease (its active bot), 0 as standby.",
            labels=["hotel"],
        )
        states = GaugeMetricFamily(
            "begasist_channel_state",
            "1 for the state each channel of an active hotel is in, 0 for the others.",
            labels=["hotel", "channel", "state"],
        )
        restarts = GaugeMetricFamily(
            "begasist_channel_restarts",
            "Restarts of the channel since its supervisor started (crashes and commands).",
            labels=["hotel", "channel"],
        )
        streams: list[str] = []
        for bot in self._bots():
            held = bot.active
            active.add_metric([bot.hotel], 1.0 if held else 0.0)
            if not held:
                continue  # the active bot reports the hotel's channels and streams
            for name, running in sorted(bot.channels.items()):
                now = running.supervisor.state
                for state in ChannelState:
                    states.add_metric([bot.hotel, name, state.value], float(state is now))
                restarts.add_metric([bot.hotel, name], float(running.supervisor.restarts))
            names = self._names
            streams += [
                names.control(bot.hotel),
                names.outbound(bot.hotel),
                names.ingress(bot.hotel),
            ]
        gathered: list[Metric] = [up, active, states, restarts]
        if redis_up:
            groups = await stream_group_metrics(self._redis, streams)
            # Only the bots' own group: the streams have no other, but say so.
            for family in groups:
                family.samples = [s for s in family.samples if s.labels["group"] == CONSUMER_GROUP]
            gathered += groups
        return exposition(gathered)

    async def _ping(self) -> str:
        try:
            with anyio.fail_after(PROBE_SECONDS):
                await self._redis.ping()
        except TimeoutError:
            return f"no answer within {PROBE_SECONDS:g} s"
        except Exception as error:
            return f"failed ({type(error).__name__})"
        return "ok"

    async def _connection(self, stream: SocketStream) -> None:
        async with stream:
            try:
                with anyio.fail_after(REQUEST_SECONDS):
                    connection, request = await _read_request(stream)
            except (TimeoutError, h11.RemoteProtocolError, anyio.EndOfStream, OSError):
                return  # nothing sensible to answer; the prober sees the connection close
            except anyio.BrokenResourceError:
                return
            if request.method != b"GET":
                status, body, media = 405, b"method not allowed\n", "text/plain"
            else:
                try:
                    status, body, media = await self._answer(request.target.decode("ascii"))
                except Exception:  # a probe must never take the bot down with it
                    log.exception("health port: %s failed", request.target[:100])
                    status, body, media = 500, b"internal error\n", "text/plain"
            headers = [
                ("content-type", media),
                ("content-length", str(len(body))),
                ("connection", "close"),
                ("cache-control", "no-store"),
            ]
            reply = b"".join(
                connection.send(part) or b""
                for part in (
                    h11.Response(status_code=status, headers=headers),
                    h11.Data(data=body),
                    h11.EndOfMessage(),
                )
            )
            try:
                await stream.send(reply)
            except (anyio.BrokenResourceError, OSError):
                return  # the prober went away

    async def _answer(self, target: str) -> tuple[int, bytes, str]:
        path = target.split("?", 1)[0]
        if path == "/health":
            return 200, b'{"status":"ok"}', "application/json"
        if path == "/ready":
            readiness = await self.readiness()
            status = 200 if readiness.status == "ready" else 503
            return status, readiness.model_dump_json().encode(), "application/json"
        if path == "/metrics":
            return 200, await self.metrics(), CONTENT_TYPE
        return 404, b"not found\n", "text/plain"


async def _read_request(stream: SocketStream) -> tuple[h11.Connection, h11.Request]:
    """The request's head, read until whole (at most :data:`MAX_REQUEST_BYTES`)."""
    connection = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await stream.receive(MAX_REQUEST_BYTES))
        elif isinstance(event, h11.Request):
            return connection, event
        else:
            raise h11.RemoteProtocolError("the connection ended before a request")
