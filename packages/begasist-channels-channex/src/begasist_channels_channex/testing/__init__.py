"""Test helpers of the Channex channel: a stand-in of the Channex API, as a real HTTP server.

It is a stand-in, not Channex: it speaks the documented wire format of the
parts Begasist uses (see ``standin.py``), so tests, demos and benches run
without a Channex account. With credentials, the channel talks to Channex itself.
"""

from begasist_channels_channex.testing.standin import (
    ChannexStandin,
    StandinBooking,
    StandinFile,
    StandinMessage,
)

__all__ = ["ChannexStandin", "StandinBooking", "StandinFile", "StandinMessage"]
