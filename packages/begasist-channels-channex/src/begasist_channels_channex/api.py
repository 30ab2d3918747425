"""A small client of the Channex API: the booking, its messages and their files (docs.channex.io).

Bodies are JSON:API-style: ``{"data": {"type": ..., "id": ..., "attributes": {...}}}``;
errors are ``{"errors": {"code": ..., "title": ...}}``. Authentication is the
``user-api-key`` header (Channex's API reference).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "API_KEY_HEADER",
    "ChannexApiError",
    "ChannexBooking",
    "ChannexClient",
    "ChannexMessage",
    "ChannexThread",
]

API_KEY_HEADER: Final = "user-api-key"
MESSAGES_PAGE_LIMIT: Final = 100

_Shape = TypeVar("_Shape", bound=BaseModel)


class ChannexApiError(Exception):
    """Channex answered other than 2xx (``status`` 0: no answer at all)."""

    def __init__(
        self, status: int, code: str | None, title: str | None, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.title = title
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.status == 0:
            return f"Channex did not answer ({self.title})"
        what = f"{self.code}: {self.title}" if self.code or self.title else "no error body"
        return f"Channex answered {self.status} ({what})"


class _Lenient(BaseModel):
    # Channex adds fields over time; an old reader must go on working.
    model_config = ConfigDict(extra="ignore")


class _Customer(_Lenient):
    name: str | None = None
    surname: str | None = None


class ChannexBooking(_Lenient):
    """The attributes of a Channex booking that Begasist uses."""

    id: str
    property_id: str | None = None
    ota_name: str | None = None
    ota_reservation_code: str | None = None
    arrival_date: date | None = None
    departure_date: date | None = None
    customer: _Customer | None = None

    @property
    def guest_name(self) -> str | None:
        if self.customer is None:
            return None
        parts = [p.strip() for p in (self.customer.name, self.customer.surname) if p and p.strip()]
        return " ".join(parts)[:200] or None


class ChannexMessage(_Lenient):
    """One message of a booking's thread, as Channex lists or returns it."""

    id: str
    message: str | None = None
    sender: str | None = None
    attachments: list[Any] = Field(default_factory=list)
    inserted_at: datetime | None = None
    thread_id: str | None = None
    """The ``message_thread`` relationship: the booking's thread."""


class ChannexThread(_Lenient):
    """One message thread of the property (a booking's conversation with its guest)."""

    id: str
    booking_id: str | None = None
    provider: str | None = None
    is_closed: bool = False
    """A closed thread takes no replies (Messages Collection: Close Message Thread)."""
    last_message_received_at: datetime | None = None
    updated_at: datetime | None = None


class _Resource(_Lenient):
    id: Annotated[str, Field(min_length=1)]
    attributes: dict[str, Any] = Field(default_factory=dict)
    relationships: dict[str, Any] = Field(default_factory=dict)

    def related_id(self, name: str) -> str | None:
        related = self.relationships.get(name)
        data = related.get("data") if isinstance(related, dict) else None
        found = data.get("id") if isinstance(data, dict) else None
        return found if isinstance(found, str) and found else None


class _One(_Lenient):
    data: _Resource


class _Many(_Lenient):
    data: list[_Resource]


class ChannexClient:
    """Calls to one Channex API root with one API key, over a caller's httpx client."""

    def __init__(self, http: httpx.AsyncClient, *, root: str, api_key: str) -> None:
        self._http = http
        self._root = root.rstrip("/")
        self._headers = {API_KEY_HEADER: api_key, "accept": "application/json"}

    @property
    def root(self) -> str:
        """The API root, without a trailing slash."""
        return self._root

    async def booking(self, booking_id: str) -> ChannexBooking:
        """``GET /bookings/{id}``: the booking's latest revision."""
        found = await self._call("GET", f"/bookings/{booking_id}", _One)
        return ChannexBooking.model_validate({**found.data.attributes, "id": found.data.id})

    async def booking_messages(self, booking_id: str, *, page: int = 1) -> list[ChannexMessage]:
        """``GET /bookings/{id}/messages``: one page, newest first (Channex's default order)."""
        params = {"pagination[page]": str(page), "pagination[limit]": str(MESSAGES_PAGE_LIMIT)}
        found = await self._call("GET", f"/bookings/{booking_id}/messages", _Many, params=params)
        return [_message(item) for item in found.data]

    async def threads(self, property_id: str, *, page: int = 1) -> list[ChannexThread]:
        """``GET /message_threads`` of *property_id*: one page, most recently active first."""
        params = {
            "filter[property_id]": property_id,
            "pagination[page]": str(page),
            "pagination[limit]": str(MESSAGES_PAGE_LIMIT),
        }
        found = await self._call("GET", "/message_threads", _Many, params=params)
        return [_thread(item) for item in found.data]

    async def thread(self, thread_id: str) -> ChannexThread:
        """``GET /message_threads/{id}``: one thread, with whether it is closed."""
        found = await self._call("GET", f"/message_threads/{thread_id}", _One)
        return _thread(found.data)

    async def thread_messages(self, thread_id: str, *, page: int = 1) -> list[ChannexMessage]:
        """``GET /message_threads/{id}/messages``: one page, newest first."""
        params = {"pagination[page]": str(page), "pagination[limit]": str(MESSAGES_PAGE_LIMIT)}
        found = await self._call(
            "GET", f"/message_threads/{thread_id}/messages", _Many, params=params
        )
        return [_message(item) for item in found.data]

    async def send_message(self, booking_id: str, text: str) -> ChannexMessage:
        """``POST /bookings/{id}/messages`` with ``{"message": {"message": text}}``."""
        body = {"message": {"message": text}}
        found = await self._call("POST", f"/bookings/{booking_id}/messages", _One, json=body)
        return _message(found.data)

    async def upload_attachment(self, data: bytes, *, file_name: str, file_type: str) -> str:
        """``POST /attachments`` (Create Attachment, base64 in JSON): Channex's id for the file."""
        body = {
            "attachment": {
                "file": base64.b64encode(data).decode("ascii"),
                "file_name": file_name,
                "file_type": file_type,
            }
        }
        found = await self._call("POST", "/attachments", _One, json=body)
        return found.data.id

    async def send_attachment(self, booking_id: str, attachment_id: str) -> ChannexMessage:
        """``POST /bookings/{id}/messages`` with ``{"message": {"attachment_id": ...}}``.

        Without a ``message`` field: Channex ignores the attachment when there is one.
        """
        body = {"message": {"attachment_id": attachment_id}}
        found = await self._call("POST", f"/bookings/{booking_id}/messages", _One, json=body)
        return _message(found.data)

    def file_url(self, link: str) -> str:
        """The absolute URL of an attachment *link* as Channex lists it.

        Channex gives relative links ("append it by https://app.channex.io/api/v1/",
        Messages Collection); a link starting with ``/`` is taken from the API's
        origin, an absolute one as it is.
        """
        if urlsplit(link).scheme:
            return link
        if link.startswith("/"):
            return urljoin(self._root, link)
        return f"{self._root}/{link}"

    @asynccontextmanager
    async def stream_file(self, url: str) -> AsyncIterator[httpx.Response]:
        """GET *url* streamed; the API key goes along only to the API's own origin.

        UNCONFIRMED: whether Channex wants the key on its attachment links; it is
        sent where it is safe (Channex's own host) and never to another host.
        """
        headers = self._headers if _origin(url) == _origin(self._root) else {}
        try:
            async with self._http.stream("GET", url, headers=headers) as response:
                yield response
        except httpx.TransportError as error:
            raise ChannexApiError(0, None, type(error).__name__) from error

    async def _call(
        self,
        method: str,
        path: str,
        shape: type[_Shape],
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
    ) -> _Shape:
        try:
            response = await self._http.request(
                method, self._root + path, headers=self._headers, params=params, json=json
            )
        except httpx.HTTPError as error:
            raise ChannexApiError(0, None, type(error).__name__) from error
        if not response.is_success:
            raise _error_of(response)
        try:
            return shape.model_validate_json(response.content)
        except ValidationError:
            raise ChannexApiError(
                response.status_code, None, "an answer Begasist cannot read"
            ) from None


def _message(resource: _Resource) -> ChannexMessage:
    return ChannexMessage.model_validate(
        {
            **resource.attributes,
            "id": resource.id,
            "thread_id": resource.related_id("message_thread"),
        }
    )


def _thread(resource: _Resource) -> ChannexThread:
    return ChannexThread.model_validate(
        {**resource.attributes, "id": resource.id, "booking_id": resource.related_id("booking")}
    )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _error_of(response: httpx.Response) -> ChannexApiError:
    code = title = None
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        errors = None
    if isinstance(errors, dict):
        code = str(errors.get("code"))[:100] if errors.get("code") else None
        title = str(errors.get("title"))[:200] if errors.get("title") else None
    return ChannexApiError(response.status_code, code, title, _retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None
