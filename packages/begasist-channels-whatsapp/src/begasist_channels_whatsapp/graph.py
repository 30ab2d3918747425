"""A small async client for the one Graph API call sending needs: POST a message, get its wamid."""

from __future__ import annotations

import re
from typing import Any, Final

import httpx

__all__ = ["GRAPH_TIMEOUT", "GraphApiError", "GraphClient", "new_http_client"]

GRAPH_TIMEOUT: Final = httpx.Timeout(15.0, connect=5.0)
"""Meta answers a send within a second or two; a stuck connection must not hold a send forever."""

_TITLE_PREFIX: Final = re.compile(r"^\(#\d+\)\s*")
_MAX_TEXT: Final = 300


class GraphApiError(Exception):
    """The Graph API refused a request: Meta's error object, read into fields.

    ``code`` is Meta's error code (None when the body was not Meta's error
    JSON, such as a proxy's 502 page); ``title`` is its message without the
    ``(#code)`` prefix; ``retry_after`` the seconds of a ``Retry-After``
    header. No field holds the access token.
    """

    def __init__(
        self,
        status: int,
        *,
        code: int | None = None,
        subcode: int | None = None,
        title: str = "",
        details: str | None = None,
        fbtrace_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.subcode = subcode
        self.title = title
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        what = f"Meta error {self.code}" if self.code is not None else "Graph API error"
        text = f"{what}: {self.title or 'no description'} (HTTP {self.status})"
        return f"{text}; {self.details}" if self.details else text


def new_http_client(base_url: str) -> httpx.AsyncClient:
    """An HTTP client for *base_url* with Begasist's timeouts; the token is added per request."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=GRAPH_TIMEOUT,
        follow_redirects=False,
        headers={"accept": "application/json"},
    )


class GraphClient:
    """Sends Cloud API messages over an :class:`httpx.AsyncClient` it does not own."""

    def __init__(self, http: httpx.AsyncClient, *, version: str, access_token: str) -> None:
        self._http = http
        self._version = version
        self._token = access_token

    async def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> str:
        """POST *payload* to ``/{version}/{phone_number_id}/messages``; the new message's wamid.

        Raises :class:`GraphApiError` for an error answer and lets
        :class:`httpx.TransportError` (timeouts, refused connections) through.
        """
        response = await self._http.post(
            f"/{self._version}/{phone_number_id}/messages",
            json=payload,
            headers={"authorization": f"Bearer {self._token}"},
        )
        if response.is_success:
            wamid = _wamid(response)
            if wamid is not None:
                return wamid
            raise GraphApiError(response.status_code, title="the answer names no message id")
        raise self._error(response)

    def _error(self, response: httpx.Response) -> GraphApiError:
        retry_after = _retry_after(response.headers.get("retry-after"))
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None
        if not isinstance(error, dict):
            return GraphApiError(
                response.status_code,
                title=self._scrub(response.reason_phrase or "unreadable answer"),
                details=self._scrub(response.text[:_MAX_TEXT]) or None,
                retry_after=retry_after,
            )
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        return GraphApiError(
            response.status_code,
            code=_int_or_none(error.get("code")),
            subcode=_int_or_none(error.get("error_subcode")),
            title=self._scrub(_TITLE_PREFIX.sub("", str(error.get("message") or ""))[:_MAX_TEXT]),
            details=self._scrub(str(details)[:_MAX_TEXT]) if details else None,
            fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
            retry_after=retry_after,
        )

    def _scrub(self, text: str) -> str:
        # Meta never echoes the token, but a proxy's error page might: never pass it on.
        return text.replace(self._token, "***") if self._token else text


def _wamid(response: httpx.Response) -> str | None:
    try:
        messages = response.json().get("messages")
        wamid = messages[0]["id"]
    except (ValueError, AttributeError, LookupError, TypeError):
        return None
    return wamid if isinstance(wamid, str) and wamid else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after(value: str | None) -> float | None:
    """Seconds of a ``Retry-After`` header; None for an absent or HTTP-date one."""
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None
