"""The pytest plugin of the conformance kit, registered through the ``pytest11`` entry point.

Installing begasist-core gives any test suite these fixtures.
"""

from begasist_core.testing.fixtures import (
    begasist_bus,
    begasist_settings_source,
    captured_events,
    captured_outbound,
    channel_harness,
)
from begasist_core.testing.redis import (
    anyio_backend,
    begasist_names,
    begasist_redis,
    begasist_redis_url,
)

__all__ = [
    "anyio_backend",
    "begasist_bus",
    "begasist_names",
    "begasist_redis",
    "begasist_redis_url",
    "begasist_settings_source",
    "captured_events",
    "captured_outbound",
    "channel_harness",
]
