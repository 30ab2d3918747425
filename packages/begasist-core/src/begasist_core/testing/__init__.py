"""The channel conformance kit: fixtures, a harness and the suite every channel passes.

Installing begasist-core registers :mod:`begasist_core.testing.plugin` with
pytest (``pytest11``), so the fixtures are there in any test suite; the suite
is a class to subclass::

    from begasist_core.testing import ChannelConformance

    class TestMyChannel(ChannelConformance):
        channel_class = MyChannel
        ...
"""

import pytest

# The suite's asserts are its error messages: have pytest rewrite them, as it
# does for test modules. This runs before the submodules are imported.
pytest.register_assert_rewrite(
    "begasist_core.testing.conformance",
    "begasist_core.testing.settings_checks",
    "begasist_core.testing.guest_socket_checks",
)

from begasist_core.testing.conformance import (  # noqa: E402
    CREDENTIAL_ALTERATIONS,
    GARBAGE_BODIES,
    RUN_STOP_LIMIT_SECONDS,
    ChannelConformance,
)
from begasist_core.testing.distributions import write_distribution  # noqa: E402
from begasist_core.testing.fixtures import make_channel_harness  # noqa: E402
from begasist_core.testing.guest_socket_checks import (  # noqa: E402
    GUEST_GARBAGE_FRAMES,
    GuestSocketChecks,
)
from begasist_core.testing.harness import (  # noqa: E402
    DEFAULT_HOTEL,
    Bus,
    ChannelHarness,
    EventCapture,
    RunOutcome,
    Transmission,
    TransmissionReader,
)
from begasist_core.testing.settings_checks import SECRET_FIELD_PATTERN  # noqa: E402

__all__ = [
    "CREDENTIAL_ALTERATIONS",
    "DEFAULT_HOTEL",
    "GARBAGE_BODIES",
    "GUEST_GARBAGE_FRAMES",
    "RUN_STOP_LIMIT_SECONDS",
    "SECRET_FIELD_PATTERN",
    "Bus",
    "ChannelConformance",
    "ChannelHarness",
    "EventCapture",
    "GuestSocketChecks",
    "RunOutcome",
    "Transmission",
    "TransmissionReader",
    "make_channel_harness",
    "write_distribution",
]
