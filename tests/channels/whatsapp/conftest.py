"""The WhatsApp tests' fixtures: a Graph API stand-in and a clock that never sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from anyio.lowlevel import checkpoint
from begasist_channels_whatsapp.testing import GraphStandin

ACCESS_TOKEN = "access-token-for-tests"
"""The token of ``samples.settings()``: the stand-in accepts it."""


class FakeClock:
    """A :class:`~begasist_channels_whatsapp.pacing.Clock` for tests: sleeping advances it.

    ``sleeps`` keeps every requested wait, so a test asserts what was waited
    for instead of measuring time.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        await checkpoint()


@pytest.fixture(scope="session")
def _graph_standin_server() -> Iterator[GraphStandin]:
    with GraphStandin(token=ACCESS_TOKEN) as standin:
        yield standin


@pytest.fixture
def graph_standin(_graph_standin_server: GraphStandin) -> GraphStandin:
    """A Graph API stand-in on a local port, accepting :data:`ACCESS_TOKEN`, fresh per test.

    One server serves the session (starting one takes a moment); each test
    gets it reset. A test that needs other limits starts a ``GraphStandin`` of its own.
    """
    _graph_standin_server.reset()
    return _graph_standin_server


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
