"""A supervisor per channel: build it, run it, restart it with backoff, report its state."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from pydantic import ValidationError

from begasist_core.backoff import Backoff
from begasist_core.events.payloads import ChannelState, ChannelStateChanged
from begasist_core.log_format import log_context
from begasist_core.models.settings import ChannelSettings
from begasist_core.models.validation import describe_validation_error
from begasist_core.plugins.channel import Channel
from begasist_core.plugins.context import ChannelContext, StateReporter
from begasist_core.plugins.redaction import redact

__all__ = ["ChannelSupervisor", "ChannelUnavailable"]

log = logging.getLogger("begasist.channelbot.supervisor")

ContextFactory = Callable[[ChannelSettings, StateReporter], ChannelContext[Any]]
StatePublisher = Callable[[ChannelStateChanged], Awaitable[None]]

_SERVING_STATES = frozenset({ChannelState.RUNNING, ChannelState.PAIRING})


class ChannelUnavailable(RuntimeError):
    """The channel is not running now (starting, backing off); retry the work later."""


class ChannelSupervisor:
    """Keeps one channel of one hotel running until cancelled.

    A crash (``run()`` raising, or returning) is followed by a restart after an
    exponential backoff with jitter; a run that lasted ``stable_after``
    seconds resets the backoff. Every state change is published as a
    ``channel.state`` event. Settings that do not validate leave the channel
    ``misconfigured`` (not restarted) until they change.
    """

    def __init__(
        self,
        *,
        hotel: str,
        name: str,
        channel_class: type[Channel[Any]] | None,
        raw_settings: dict[str, Any],
        config_version: int,
        make_context: ContextFactory,
        publish_state: StatePublisher,
        backoff: Backoff | None = None,
        stable_after: float = 60.0,
    ) -> None:
        self.hotel = hotel
        self.name = name
        self.channel_class = channel_class
        self.raw_settings = raw_settings
        self.config_version = config_version
        self.state = ChannelState.STOPPED
        self.detail: str | None = None
        self.restarts = 0
        self.instance: Channel[Any] | None = None
        self.held: str | None = None
        """Why sends are held (the provider refused the credentials: ``misconfigured``,
        the instance still serving webhooks), or None; cleared by a start."""
        self._make_context = make_context
        self._publish_state = publish_state
        self._backoff = backoff or Backoff(initial=0.5, maximum=60.0)
        self._stable_after = stable_after
        self._attempt_scope: anyio.CancelScope | None = None

    def ready_instance(self) -> Channel[Any]:
        """The live channel, or :class:`ChannelUnavailable` if it is not serving."""
        if self.instance is None or (self.state not in _SERVING_STATES and self.held is None):
            raise ChannelUnavailable(f"channel {self.name} of {self.hotel} is {self.state.value}")
        return self.instance

    async def hold_sends(self, reason: str) -> None:
        """Report the channel ``misconfigured`` for *reason*; it keeps serving webhooks
        while the runtime holds its sends, until it starts again."""
        self.held = reason
        await self._set_state(ChannelState.MISCONFIGURED, reason)

    def restart(self) -> None:
        """Restart now, skipping any backoff (the ``restart`` command)."""
        self._backoff.reset()
        if self._attempt_scope is not None:
            self._attempt_scope.cancel()

    async def run(self) -> None:
        """Supervise until cancelled; reports ``stopped`` on the way out."""
        with log_context(hotel=self.hotel, channel=self.name):
            try:
                settings = self._validated_settings()
                if isinstance(settings, str):
                    log.warning(
                        "hotel %s: channel %s is misconfigured: %s", self.hotel, self.name, settings
                    )
                    await self._set_state(ChannelState.MISCONFIGURED, settings)
                    await anyio.sleep_forever()
                elif not settings.enabled:
                    await self._set_state(ChannelState.DISABLED)
                    await anyio.sleep_forever()
                else:
                    await self._keep_running(settings)
            finally:
                self.instance = None
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await self._set_state(ChannelState.STOPPED)

    def _validated_settings(self) -> ChannelSettings | str:
        """The channel's settings, or what is wrong with them (no values: they may be secret)."""
        if self.channel_class is None:
            return f"channel {self.name!r} is not installed or is quarantined"
        try:
            return self.channel_class.Settings.model_validate(self.raw_settings)
        except ValidationError as error:
            return describe_validation_error(error)
        except Exception as error:  # a plugin's validator may raise anything
            return f"settings validation raised {type(error).__name__}"

    async def _keep_running(self, settings: ChannelSettings) -> None:
        assert self.channel_class is not None
        while True:
            self.held = None
            await self._set_state(ChannelState.STARTING)
            started = time.monotonic()
            error: BaseException | None = None
            with anyio.CancelScope() as scope:
                self._attempt_scope = scope
                try:
                    context = self._make_context(settings, self._reported_by_channel)
                    self.instance = self.channel_class(context)
                    await self._set_state(ChannelState.RUNNING)
                    await self.instance.run()
                    error = RuntimeError("run() returned; a channel runs until cancelled")
                except Exception as crash:
                    error = crash
                finally:
                    self.instance = None
                    self._attempt_scope = None
            if scope.cancelled_caught:
                # restart(): go again at once.
                self.restarts += 1
                continue
            if time.monotonic() - started >= self._stable_after:
                self._backoff.reset()
            delay = self._backoff.next_delay()
            self.restarts += 1
            summary = redact(f"{type(error).__name__}: {error}", settings)
            log.error(
                "hotel %s: channel %s crashed (%s); restart %d in %.1fs",
                self.hotel,
                self.name,
                summary,
                self.restarts,
                delay,
            )
            await self._set_state(ChannelState.BACKOFF, summary, retry_in=delay)
            with anyio.CancelScope() as waiting:
                self._attempt_scope = waiting  # restart() skips the rest of the wait
                try:
                    await anyio.sleep(delay)
                finally:
                    self._attempt_scope = None

    async def _reported_by_channel(self, state: ChannelState, detail: str | None) -> None:
        await self._set_state(state, detail)

    async def _set_state(
        self, state: ChannelState, detail: str | None = None, *, retry_in: float | None = None
    ) -> None:
        self.state = state
        self.detail = detail
        await self._publish_state(
            ChannelStateChanged(
                channel=self.name,
                state=state,
                detail=self.detail,
                restarts=self.restarts,
                retry_in_seconds=retry_in,
                config_version=self.config_version,
            )
        )
