"""The channel supervisor: restart with backoff, states, misconfiguration."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from begasist_core.backoff import Backoff
from begasist_core.bus.publisher import Publisher
from begasist_core.channelbot.supervisor import ChannelSupervisor, ChannelUnavailable
from begasist_core.events import ChannelState, ChannelStateChanged
from begasist_core.events.streams import StreamNames
from begasist_core.models.settings import ChannelSettings
from begasist_core.plugins.context import ChannelContext, StateReporter
from redis.asyncio import Redis

from .conftest import eventually, probe_log
from .probe_channels import ProbeChannel

pytestmark = pytest.mark.anyio


def supervisor(
    redis: Redis,
    names: StreamNames,
    raw: dict[str, Any],
    states: list[ChannelStateChanged],
    channel_class: type[ProbeChannel] | None = ProbeChannel,
    backoff: Backoff | None = None,
) -> ChannelSupervisor:
    def make_context(settings: ChannelSettings, report: StateReporter) -> ChannelContext[Any]:
        return ChannelContext(
            hotel="plaza",
            channel="probe",
            settings=settings,
            redis=redis,
            publisher=Publisher(redis),
            names=names,
            report_state=report,
        )

    async def publish(change: ChannelStateChanged) -> None:
        states.append(change)

    return ChannelSupervisor(
        hotel="plaza",
        name="probe",
        channel_class=channel_class,
        raw_settings=raw,
        config_version=1,
        make_context=make_context,
        publish_state=publish,
        backoff=backoff or Backoff(initial=0.05, maximum=0.2),
    )


async def test_a_crashing_channel_is_restarted_with_backoff_and_reported(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    raw = {"probe_redis_url": begasist_redis_url, "crash_after_seconds": 0.01}
    sup = supervisor(begasist_redis, begasist_names, raw, states)
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)

        async def three_starts() -> bool:
            return len(await probe_log(begasist_redis, begasist_names, "probe", "starts")) >= 3

        await eventually(three_starts)
        group.cancel_scope.cancel()
    backoffs = [s for s in states if s.state is ChannelState.BACKOFF]
    assert len(backoffs) >= 2
    assert all(s.retry_in_seconds is not None and s.retry_in_seconds > 0 for s in backoffs)
    assert "probe crash" in (backoffs[0].detail or "")
    assert [s.restarts for s in backoffs][:2] == [1, 2]
    assert states[-1].state is ChannelState.STOPPED


async def test_invalid_settings_leave_it_misconfigured_without_echoing_values(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    sup = supervisor(begasist_redis, begasist_names, {"send_seconds": "SECRET-ish"}, states)
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)
        await eventually(lambda: _has_state(states, ChannelState.MISCONFIGURED))
        with pytest.raises(ChannelUnavailable):
            sup.ready_instance()
        group.cancel_scope.cancel()
    detail = next(s.detail for s in states if s.state is ChannelState.MISCONFIGURED)
    assert detail is not None
    assert "send_seconds" in detail
    assert "SECRET-ish" not in detail


async def test_a_missing_plugin_is_reported_misconfigured(
    begasist_redis: Redis, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    sup = supervisor(begasist_redis, begasist_names, {}, states, channel_class=None)
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)
        await eventually(lambda: _has_state(states, ChannelState.MISCONFIGURED))
        group.cancel_scope.cancel()
    assert "not installed" in (states[0].detail or "")


async def test_a_disabled_channel_is_not_started(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    raw = {"enabled": False, "probe_redis_url": begasist_redis_url}
    sup = supervisor(begasist_redis, begasist_names, raw, states)
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)
        await eventually(lambda: _has_state(states, ChannelState.DISABLED))
        group.cancel_scope.cancel()
    assert await probe_log(begasist_redis, begasist_names, "probe", "starts") == []


async def test_restart_command_restarts_at_once(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    sup = supervisor(
        begasist_redis, begasist_names, {"probe_redis_url": begasist_redis_url}, states
    )
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)

        async def starts(count: int) -> bool:
            return len(await probe_log(begasist_redis, begasist_names, "probe", "starts")) == count

        await eventually(lambda: starts(1))
        sup.ready_instance()
        sup.restart()
        await eventually(lambda: starts(2))
        group.cancel_scope.cancel()
    assert not any(s.state is ChannelState.BACKOFF for s in states)


async def _has_state(states: list[ChannelStateChanged], state: ChannelState) -> bool:
    return any(s.state is state for s in states)


async def test_a_crash_report_never_carries_the_channels_secrets(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    token = "123456:very-secret-token"
    raw = {"probe_redis_url": begasist_redis_url, "crash_after_seconds": 0, "api_token": token}
    sup = supervisor(begasist_redis, begasist_names, raw, states)
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)
        await eventually(lambda: _has_state(states, ChannelState.BACKOFF))
        group.cancel_scope.cancel()
    detail = next(s.detail for s in states if s.state is ChannelState.BACKOFF) or ""
    assert "GET /bot***/poll failed" in detail
    assert token not in detail


async def test_restart_cuts_a_running_backoff_short(
    begasist_redis: Redis, begasist_redis_url: str, begasist_names: StreamNames
) -> None:
    states: list[ChannelStateChanged] = []
    raw = {"probe_redis_url": begasist_redis_url, "crash_after_seconds": 0}
    # A backoff far longer than the test's patience: only restart() can end it.
    sup = supervisor(
        begasist_redis, begasist_names, raw, states, backoff=Backoff(initial=60, maximum=60)
    )
    async with anyio.create_task_group() as group:
        group.start_soon(sup.run)
        await eventually(lambda: _has_state(states, ChannelState.BACKOFF))
        sup.restart()

        async def started_again() -> bool:
            return len(await probe_log(begasist_redis, begasist_names, "probe", "starts")) == 2

        await eventually(started_again, within=3)
        group.cancel_scope.cancel()
