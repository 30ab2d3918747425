"""One hotel in a bot: lease, channels, the three inbound streams, presence, reload."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio
from anyio.abc import TaskGroup, TaskStatus
from redis.asyncio import Redis

from begasist_core.backoff import Backoff
from begasist_core.bus.connection import REDIS_UNAVAILABLE, RedisOutage, redis_label
from begasist_core.bus.consumer import Delivery, StreamConsumer
from begasist_core.bus.dead_letters import DeadLetters
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.bot_errors import (
    OFF_STATES,
    ChannelCallFailed,
    ChannelOff,
    UnexpectedEvent,
    UnreadableWebhook,
    first_error,
    summary,
)
from begasist_core.channelbot.config import BotConfig
from begasist_core.channelbot.held_sends import HeldSends
from begasist_core.channelbot.lease import HotelLease, LeaseLost
from begasist_core.channelbot.presence import ChannelPresence, Presence, PresenceRecord
from begasist_core.channelbot.settings_source import HotelSettings, SettingsSource
from begasist_core.channelbot.streams import conversation_of, event_id_of, hotel_consumer
from begasist_core.channelbot.supervisor import ChannelSupervisor, ChannelUnavailable
from begasist_core.events.codec import make_event
from begasist_core.events.envelope import (
    ChannelCommandEvent,
    ConfigChangedEvent,
    Event,
    MessageSendEvent,
    WebhookReceivedEvent,
)
from begasist_core.events.payloads import ChannelState, ChannelStateChanged, MessageStatusChanged
from begasist_core.events.streams import StreamNames
from begasist_core.log_format import log_context
from begasist_core.media import FileMediaStore
from begasist_core.metrics import SENDS, observe_send
from begasist_core.models.messages import DeliveryStatus, utc_now
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.channel import Channel
from begasist_core.plugins.context import ChannelContext, StateReporter
from begasist_core.plugins.errors import CredentialsRevoked, ParseError, PermanentSendError
from begasist_core.plugins.redaction import redact

__all__ = ["HotelBot", "UnexpectedEvent"]

log = logging.getLogger("begasist.channelbot")

READY_WAIT_SECONDS = 5.0
"""How long a send or webhook waits for its channel to (re)start before retrying later."""


@dataclass
class _RunningChannel:
    supervisor: ChannelSupervisor
    scope: anyio.CancelScope
    finished: anyio.Event = field(default_factory=anyio.Event)


class HotelBot:
    """Serves one hotel while it holds the hotel's lease, as standby otherwise.

    :meth:`run` waits for the lease, starts every configured channel under a
    supervisor, consumes the hotel's control, outbound and ingress streams,
    beats its presence and checks the config version; it returns to standby if
    the lease is lost. :meth:`drain` is the SIGTERM path: stop taking work,
    finish or hand back what is in flight, release the lease.
    """

    def __init__(
        self,
        *,
        hotel: str,
        redis: Redis,
        names: StreamNames,
        source: SettingsSource,
        channel_classes: Mapping[str, type[Channel[Any]]],
        instance: str,
        config: BotConfig,
    ) -> None:
        self.hotel = hotel
        self.instance = instance
        self.config_version: int | None = None
        self.channels: dict[str, _RunningChannel] = {}
        self._redis = redis
        self._names = names
        self._source = source
        self._classes = channel_classes
        self._config = config
        self._publisher = Publisher(redis)
        self._dead_letters = DeadLetters(redis, names)
        self._held = HeldSends(redis, names, hotel)
        self._lease = HotelLease(
            redis, names, hotel, instance, ttl=timedelta(seconds=config.lease_ttl_seconds)
        )
        self._presence = Presence(
            redis, names, hotel, ttl=timedelta(seconds=config.heartbeat_seconds * 3)
        )
        self._started_at = utc_now()
        self._consumers: list[tuple[StreamConsumer, anyio.Event]] = []
        self._channel_group: TaskGroup | None = None
        self._reload_lock = anyio.Lock()
        self._run_scope: anyio.CancelScope | None = None
        self._tenure_backoff = Backoff(initial=0.5, maximum=30.0)
        # Set the first time this bot becomes the hotel's active bot.
        self.ready = anyio.Event()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve the hotel until cancelled or drained; ``started`` once it is first active."""
        outage = RedisOutage(redis_label(self._redis), logger=log)
        announce: TaskStatus[None] = task_status
        with log_context(hotel=self.hotel), anyio.CancelScope() as self._run_scope:
            while True:
                outage_error: BaseException | None = None
                retry_in = 0.0
                try:
                    await self._lease.acquire()
                    outage.succeeded()
                    await self._serve(announce)
                except* LeaseLost as lost:
                    log.error("%s; returning to standby", first_error(lost))
                except* REDIS_UNAVAILABLE as failures:
                    outage_error = first_error(failures)
                except* Exception as failures:
                    # Anything else (the settings source down, a Redis refusal
                    # such as OOM, a hotel the source no longer knows) ends this
                    # tenure, not the process: other hotels in this bot go on.
                    retry_in = self._tenure_backoff.next_delay()
                    log.error(
                        "hotel %s: stopped by %s; retrying in %.1fs",
                        self.hotel,
                        summary(first_error(failures)),
                        retry_in,
                    )
                finally:
                    if self.ready.is_set():
                        announce = anyio.TASK_STATUS_IGNORED
                    # Step down before any wait: a standby may serve meanwhile.
                    with anyio.CancelScope(shield=True), anyio.move_on_after(3):
                        await self._step_down()
                if outage_error is not None:
                    await outage.failed(outage_error)
                elif retry_in:
                    await anyio.sleep(retry_in)

    @property
    def active(self) -> bool:
        """Whether this bot holds the hotel's lease now (otherwise it is a standby)."""
        return self._lease.is_held()

    async def drain(self) -> None:
        """Stop taking work; in-flight entries finish or are handed back; then stop."""
        for consumer, _ in self._consumers:
            consumer.stop()
        with anyio.move_on_after(self._config.drain_seconds):
            for _, finished in self._consumers:
                await finished.wait()
        if self._run_scope is not None:
            self._run_scope.cancel()

    async def reload(self) -> None:
        """Fetch the settings and restart only the channels whose settings changed."""
        async with self._reload_lock:
            settings = await self._source.fetch(self.hotel)
            if settings.version == self.config_version:
                return
            await self._apply(settings)

    async def _serve(self, task_status: TaskStatus[None]) -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(self._lease.keep)
            async with anyio.create_task_group() as channels:
                self._channel_group = channels
                await self._apply(await self._source.fetch(self.hotel))
                for stream, handler, concurrency, partition in (
                    (self._names.control(self.hotel), self._on_control, 1, None),
                    (
                        self._names.outbound(self.hotel),
                        self._on_outbound,
                        self._config.outbound_concurrency,
                        conversation_of,
                    ),
                    (
                        self._names.ingress(self.hotel),
                        self._on_ingress,
                        self._config.ingress_concurrency,
                        event_id_of,
                    ),
                ):
                    consumer = hotel_consumer(
                        self._redis,
                        stream=stream,
                        instance=self.instance,
                        handler=handler,
                        dead_letters=self._dead_letters,
                        config=self._config,
                        guard=self._lease.ensure_held,
                        concurrency=concurrency,
                        partition=partition,
                        logger=log,
                    )
                    await group.start(self._consume, consumer)
                group.start_soon(self._heartbeat)
                group.start_soon(self._check_version)
                await self._beat()
                log.info(
                    "ready: hotel %s (fence %s, config v%s, channels: %s)",
                    self.hotel,
                    self._lease.fence,
                    self.config_version,
                    ", ".join(
                        f"{name}={running.supervisor.state.value}"
                        for name, running in sorted(self.channels.items())
                    )
                    or "none",
                )
                self.ready.set()
                self._tenure_backoff.reset()
                task_status.started()
                await anyio.sleep_forever()

    async def _consume(self, consumer: StreamConsumer, *, task_status: TaskStatus[None]) -> None:
        finished = anyio.Event()
        self._consumers.append((consumer, finished))
        try:
            await consumer.run(task_status=task_status)
        finally:
            finished.set()

    async def _step_down(self) -> None:
        self._consumers.clear()
        self.channels.clear()
        self._channel_group = None
        if self._lease.fence is None:
            return  # a standby wrote nothing: no Redis round trip (it may be away)
        try:
            await self._presence.clear(self.instance)
            await self._lease.release()
        except REDIS_UNAVAILABLE as error:
            log.warning("hotel %s: could not release the lease cleanly: %s", self.hotel, error)

    async def _apply(self, settings: HotelSettings) -> None:
        """Start, stop or restart channels so they match *settings*."""
        names = set(self.channels) | set(settings.channels)
        for name in sorted(names):
            wanted = settings.channels.get(name)
            running = self.channels.get(name)
            if running is not None and running.supervisor.raw_settings == wanted:
                running.supervisor.config_version = settings.version
                continue
            if running is not None:
                # The entry stays while the old instance stops, so a send in
                # that moment waits for the new one instead of failing.
                await self._stop_channel(running)
            if wanted is not None:
                self._start_channel(name, wanted, settings.version)
            else:
                self.channels.pop(name, None)
        if self.config_version is not None and settings.version != self.config_version:
            log.info(
                "hotel %s: config v%s -> v%s", self.hotel, self.config_version, settings.version
            )
        self.config_version = settings.version

    def _start_channel(self, name: str, raw: dict[str, Any], version: int) -> None:
        assert self._channel_group is not None
        supervisor = ChannelSupervisor(
            hotel=self.hotel,
            name=name,
            channel_class=self._classes.get(name),
            raw_settings=raw,
            config_version=version,
            make_context=lambda settings, report: self._context(name, settings, report),
            publish_state=self._publish_state,
        )
        running = _RunningChannel(supervisor, anyio.CancelScope())
        self.channels[name] = running
        self._channel_group.start_soon(self._supervise, running)

    async def _supervise(self, running: _RunningChannel) -> None:
        try:
            with running.scope:
                await running.supervisor.run()
        finally:
            running.finished.set()

    async def _stop_channel(self, running: _RunningChannel) -> None:
        running.scope.cancel()
        await running.finished.wait()

    async def _ready_channel(self, name: str) -> Channel[Any]:
        """The serving instance of *name*, waiting briefly through a restart.

        :class:`ChannelOff` if the hotel has no such channel or it is disabled
        or misconfigured (waiting cannot help); :class:`ChannelUnavailable` (a
        retry later) if it does not serve within ``READY_WAIT_SECONDS``.
        """
        with anyio.move_on_after(READY_WAIT_SECONDS):
            while True:
                running = self.channels.get(name)
                if running is None:
                    raise ChannelOff(f"channel {name} is not configured")
                if running.supervisor.state in OFF_STATES and running.supervisor.held is None:
                    raise ChannelOff(f"channel {name} is {running.supervisor.state.value}")
                try:
                    return running.supervisor.ready_instance()
                except ChannelUnavailable:
                    await anyio.sleep(0.05)
        running = self.channels.get(name)
        state = running.supervisor.state.value if running else "gone"
        raise ChannelUnavailable(f"channel {name} of {self.hotel} is {state}")

    def _context(
        self, name: str, settings: ChannelSettings, report: StateReporter
    ) -> ChannelContext[Any]:
        return ChannelContext(
            hotel=self.hotel,
            channel=name,
            settings=settings,
            redis=self._redis,
            publisher=self._publisher,
            names=self._names,
            report_state=report,
            media=FileMediaStore(self._config.media_dir),
        )

    async def _publish_state(self, change: ChannelStateChanged) -> None:
        # A bot that lost its lease must not speak for the hotel: its "stopped"
        # would overwrite the state of the successor's running channel.
        if not self._lease.is_held():
            return
        # A state report must never take a channel down: without Redis it is
        # dropped (the presence key carries the state once Redis is back).
        try:
            await self._publisher.publish(self._names.events, make_event(self.hotel, change))
            if self._lease.fence is not None:
                await self._beat()
            if change.state is ChannelState.RUNNING:
                await self._held.release(change.channel)
        except REDIS_UNAVAILABLE as error:
            log.warning("hotel %s: channel state not published: %s", self.hotel, error)

    async def _heartbeat(self) -> None:
        outage = RedisOutage(redis_label(self._redis), logger=log)
        while True:
            if not outage.down:  # while Redis is away, the outage backoff paces the retries
                await anyio.sleep(self._config.heartbeat_seconds)
            try:
                await self._beat()
                outage.succeeded()
            except REDIS_UNAVAILABLE as error:
                await outage.failed(error)

    async def _beat(self) -> None:
        if not self._lease.is_held():
            return
        await self._presence.beat(
            PresenceRecord(
                instance=self.instance,
                pid=os.getpid(),
                fence=self._lease.fence,
                started_at=self._started_at,
                config_version=self.config_version,
                channels={
                    name: ChannelPresence(
                        state=running.supervisor.state,
                        detail=running.supervisor.detail,
                        restarts=running.supervisor.restarts,
                    )
                    for name, running in self.channels.items()
                },
            )
        )

    async def _check_version(self) -> None:
        """Catch a missed ``config.changed``: compare the source's version now and then."""
        while True:
            await anyio.sleep(self._config.version_check_seconds)
            try:
                if await self._source.version(self.hotel) != self.config_version:
                    log.info("hotel %s: config version moved without an event", self.hotel)
                    await self.reload()
            except Exception as error:  # the check must outlive a bad fetch
                log.warning("hotel %s: config version check failed: %s", self.hotel, error)

    async def _on_control(self, event: Event, delivery: Delivery) -> None:
        if isinstance(event, ConfigChangedEvent):
            if event.data.version != self.config_version:
                await self.reload()
        elif isinstance(event, ChannelCommandEvent):
            command = event.data
            running = self.channels.get(command.channel)
            if running is None:
                log.warning("hotel %s: command for unknown channel %s", self.hotel, command.channel)
            elif command.command == "restart":
                running.supervisor.restart()
            else:
                channel = running.supervisor.ready_instance()
                try:
                    await channel.command(command)
                except Exception as error:
                    raise ChannelCallFailed(summary(error, channel.settings)) from None
        else:
            raise UnexpectedEvent(f"{event.type} does not belong on the control stream")

    async def _on_outbound(self, event: Event, delivery: Delivery) -> None:
        if not isinstance(event, MessageSendEvent):
            raise UnexpectedEvent(f"{event.type} does not belong on the outbound stream")
        message = event.data.message
        try:
            channel = await self._ready_channel(message.channel)
        except ChannelOff as off:
            SENDS.labels(message.channel, "channel_off").inc()
            await self._publish_failure(message.channel, message.id, str(off))
            return
        supervisor = self.channels[message.channel].supervisor
        if supervisor.held is not None:
            await self._held.hold(message.channel, event)  # sent when the channel starts again
            return
        # Fencing: never send on a lease that may have passed to another bot.
        self._lease.ensure_held()
        try:
            with observe_send(message.channel):
                receipt = await channel.send(message)
        except CredentialsRevoked as revoked:
            await self._held.hold(message.channel, event)
            await supervisor.hold_sends(redact(str(revoked), channel.settings))
            return
        except PermanentSendError as refused:
            reason = redact(str(refused), channel.settings)
            await self._publish_failure(message.channel, message.id, reason)
            return
        except Exception as error:
            raise ChannelCallFailed(summary(error, channel.settings)) from None
        for provider_id in receipt.provider_message_ids:
            status = MessageStatusChanged(
                channel=message.channel,
                provider_message_id=provider_id,
                message_id=message.id,
                status=DeliveryStatus.SENT,
                at=receipt.sent_at,
            )
            await channel.context.emit(status)

    async def _publish_failure(self, channel: str, message_id: str, reason: str) -> None:
        failure = MessageStatusChanged(
            channel=channel,
            provider_message_id=f"unsent:{message_id}",
            message_id=message_id,
            status=DeliveryStatus.QUEUED,
            failed=True,
            error=reason,
        )
        await self._publisher.publish(
            self._names.events,
            make_event(self.hotel, failure, key=f"message.failed:{self.hotel}:{message_id}"),
        )

    async def _on_ingress(self, event: Event, delivery: Delivery) -> None:
        if not isinstance(event, WebhookReceivedEvent):
            raise UnexpectedEvent(f"{event.type} does not belong on the ingress stream")
        try:
            channel = await self._ready_channel(event.data.channel)
        except ChannelOff as off:
            raise UnexpectedEvent(f"webhook for a channel that is off: {off}") from None
        try:
            payloads = await channel.parse(event.data)
        except ParseError as unreadable:
            raise UnreadableWebhook(summary(unreadable, channel.settings)) from None
        except Exception as error:
            raise ChannelCallFailed(summary(error, channel.settings)) from None
        for payload in payloads:
            await channel.context.emit(payload)
