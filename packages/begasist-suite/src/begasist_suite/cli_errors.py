"""What every ``begasist`` command reports the same way: operator errors, exit code 2."""

from __future__ import annotations

__all__ = ["EXIT_USAGE", "UsageError"]

EXIT_USAGE = 2
"""Bad arguments or configuration: a missing setting, an unknown hotel, a taken name."""


class UsageError(Exception):
    """A problem the operator fixes in the command line or the configuration."""
