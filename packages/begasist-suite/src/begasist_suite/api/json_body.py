"""The suite's request class: a JSON body nested too deeply is the client's error (400).

msgspec, which Litestar decodes JSON with, raises ``RecursionError`` past
about a thousand levels; uncaught, every JSON route (login included, before
any authentication) answered 500. No body the API accepts nests more than a
few levels, so the decoding boundary turns it into a 400 with a clear error.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import ClientException

__all__ = ["SuiteRequest"]


class SuiteRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise ClientException("the JSON body is nested too deeply") from None
