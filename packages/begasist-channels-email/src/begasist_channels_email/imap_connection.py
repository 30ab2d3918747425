"""One verified-TLS IMAP session (aioimaplib): connect, log in, select, fetch, flag, IDLE.

Certificates are always verified: ``tls_ca_pem`` only adds a trust anchor.
With STARTTLS the session refuses to log in unless the upgrade is offered
and succeeds, so a password never crosses the network in clear.

aioimaplib is built on asyncio: this runs on anyio's asyncio backend only. It
has no STARTTLS of its own; the upgrade here uses ``loop.start_tls`` on its
transport, then asks for the capabilities again.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TypeVar

import aioimaplib  # type: ignore[import-untyped]
import anyio

from begasist_channels_email.settings import EmailSettings, Security

__all__ = [
    "ImapAuthFailed",
    "ImapConnection",
    "ImapError",
    "ImapFolderMissing",
    "ImapTlsRefused",
    "ImapUnavailable",
    "SelectedFolder",
    "imap_tls_context",
]

T = TypeVar("T")

COMMAND_TIMEOUT_SECONDS: Final = 30.0
"""A command (or the greeting) that takes longer means the session is dead."""
IDLE_DONE_SECONDS: Final = 10.0
"""How long the server may take to end an IDLE after DONE."""

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_LITERAL_START = re.compile(rb"FETCH \(.*\{\d+\}$")
_AUTH_CODES = (b"[AUTHENTICATIONFAILED]", b"[AUTHORIZATIONFAILED]", b"[EXPIRED]")
_ATOM_SPECIALS = re.compile(r'[\s"(){%*\\\]]')


class ImapError(Exception):
    """The IMAP session failed; the message never holds the password."""


class ImapUnavailable(ImapError):
    """The server could not be reached or talked to (network, TLS, protocol, timeout)."""


class ImapTlsRefused(ImapUnavailable):
    """The server's certificate is not trusted, or STARTTLS was not offered: a setup problem."""


class ImapAuthFailed(ImapError):
    """The server refused the user name and password."""


class ImapFolderMissing(ImapError):
    """The folder to read cannot be selected (it does not exist, or no right to it)."""


class _HideLogin(logging.Filter):
    """Keeps LOGIN commands out of aioimaplib's debug log.

    The library masks the password as given, not as quoted on the wire, so a
    password with a quote or a backslash would otherwise be logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if " LOGIN " in record.getMessage():
            record.msg, record.args = "Sending : <LOGIN command hidden>", ()
        return True


logging.getLogger("aioimaplib.aioimaplib").addFilter(_HideLogin())


@dataclass(frozen=True, slots=True)
class SelectedFolder:
    """What SELECT told about a folder."""

    name: str
    uidvalidity: int
    uidnext: int | None


def imap_tls_context(ca_pem: str | None) -> ssl.SSLContext:
    """A context verifying certificate and host name, trusting *ca_pem* besides the system."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_pem:
        try:
            context.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as error:
            raise ImapTlsRefused(f"tls_ca_pem holds no usable certificate: {error}") from error
    return context


def _quote(name: str) -> str:
    if name and not _ATOM_SPECIALS.search(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lines(response: Any) -> list[bytes]:
    return [bytes(line) for line in response.lines]


class ImapConnection:
    """A logged-in IMAP session; use :meth:`open`, then ``async with`` or :meth:`aclose`.

    Every method raises :class:`ImapUnavailable` when the connection is lost,
    including while another command waits: a dropped connection never hangs.
    """

    def __init__(self, client: Any, lost: anyio.Event) -> None:
        self._client = client
        self._lost = lost

    @classmethod
    async def open(
        cls, settings: EmailSettings, *, command_seconds: float = COMMAND_TIMEOUT_SECONDS
    ) -> ImapConnection:
        """Connect with TLS as *settings* say, and log in.

        Raises :class:`ImapAuthFailed` for refused credentials,
        :class:`ImapTlsRefused` for an untrusted certificate or a server
        without STARTTLS, :class:`ImapUnavailable` for anything else.
        """
        context = imap_tls_context(settings.tls_ca_pem)
        lost = anyio.Event()

        def connection_lost(_: Exception | None) -> None:
            lost.set()

        implicit = settings.imap_security is Security.TLS
        client = aioimaplib.IMAP4(
            host=settings.imap_host,
            port=settings.imap_port,
            timeout=command_seconds,
            conn_lost_cb=connection_lost,
            ssl_context=context if implicit else None,
        )
        connection = cls(client, lost)
        try:
            await connection._guard(client.wait_hello_from_server)
            if not implicit:
                await connection._starttls(context, settings.imap_host)
            await connection._login(settings.imap_user, settings.imap_password.get_secret_value())
        except BaseException:
            connection.close()
            raise
        return connection

    @property
    def has_idle(self) -> bool:
        """The server announced IDLE (RFC 2177)."""
        return bool(self._client.has_capability("IDLE"))

    async def __aenter__(self) -> ImapConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Drop the connection now, without waiting for the server (safe to call twice)."""
        protocol = self._client.protocol
        task = self._client._client_task
        if not task.done():
            task.cancel()
        if protocol.transport is not None:
            # abort, not close: a TLS close waits for the server's close_notify,
            # which a dead server never sends and a stopping event loop never reads.
            protocol.transport.abort()
        # The library's own helper tasks would wait forever for answers that never come.
        for pending in (*self._client.tasks, *protocol.tasks):
            pending.cancel()
        if self._client._idle_waiter is not None:
            self._client._idle_waiter.cancel()
            self._client._idle_waiter = None

    async def select(self, folder: str) -> SelectedFolder:
        """Select *folder* read-write (flags can be stored); its UIDVALIDITY and UIDNEXT."""
        response = await self._guard(lambda: self._client.select(_quote(folder)))
        if response.result == "NO":
            raise ImapFolderMissing(
                f"IMAP folder {folder!r} cannot be read: {self._text(response)}"
            )
        if response.result != "OK":
            raise ImapUnavailable(f"cannot select {folder!r}: {self._text(response)}")
        joined = b"\n".join(_lines(response))
        validity = _UIDVALIDITY.search(joined)
        if validity is None:
            raise ImapUnavailable(f"the server gave no UIDVALIDITY for {folder!r}")
        uidnext = _UIDNEXT.search(joined)
        return SelectedFolder(
            name=folder,
            uidvalidity=int(validity.group(1)),
            uidnext=None if uidnext is None else int(uidnext.group(1)),
        )

    async def uids_after(self, last_uid: int) -> list[int]:
        """The UIDs greater than *last_uid* in the selected folder, ascending.

        A NOOP first lets the server report mail that arrived since its last answer.
        """
        await self._checked("NOOP", self._client.noop)
        response = await self._checked(
            "UID SEARCH",
            lambda: self._client.uid_search("UID", f"{last_uid + 1}:*", charset=None),
        )
        uids: set[int] = set()
        # aioimaplib strips "* SEARCH" from the untagged lines; the last line is the tagged text.
        for line in _lines(response)[:-1]:
            uids.update(int(word) for word in line.split() if word.isdigit())
        # "n:*" always matches the last message, even when its UID is below n.
        return sorted(uid for uid in uids if uid > last_uid)

    async def fetch_raw(self, uid: int, *, max_bytes: int | None = None) -> bytes | None:
        """The message *uid* as on the server, None if it is gone.

        ``BODY.PEEK[]``: reading never sets ``\\Seen``. With *max_bytes*, at
        most ``max_bytes + 1`` bytes are fetched: a longer message is not
        downloaded whole (it could outlast the command timeout on every try),
        and what comes back is longer than *max_bytes*, so it reads as oversized.
        """
        section = "BODY.PEEK[]" if max_bytes is None else f"BODY.PEEK[]<0.{max_bytes + 1}>"
        response = await self._checked(
            "UID FETCH", lambda: self._client.uid("fetch", str(uid), f"({section})")
        )
        raw = response.lines
        for index, line in enumerate(raw[:-1]):
            if isinstance(line, bytes) and _LITERAL_START.search(line):
                return bytes(raw[index + 1])
        return None

    async def mark_seen(self, uid: int) -> None:
        """Flag message *uid* ``\\Seen``."""
        await self._checked(
            "UID STORE", lambda: self._client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)")
        )

    async def append(self, raw: bytes, folder: str, *, flags: str | None = None) -> None:
        """Append the message *raw* to *folder* (a copy of a reply to Sent, for example)."""
        await self._checked(
            "APPEND", lambda: self._client.append(raw, mailbox=_quote(folder), flags=flags)
        )

    async def idle(self, seconds: float) -> Sequence[bytes]:
        """IDLE until the server reports a change (its lines) or *seconds* pass (nothing).

        The IDLE is always ended (DONE) before returning, so that the next
        command is accepted; ``* OK Still here`` keep-alives are no change.
        """
        queue = self._client.protocol.idle_queue
        # Only pushes of this IDLE count: drop what an earlier one left behind.
        while not queue.empty():
            queue.get_nowait()
        # The library's own timer stays out of the way: the deadline here is ours.
        ended = await self._guard(lambda: self._client.idle_start(timeout=seconds + 60.0))
        changes: list[bytes] = []
        with anyio.move_on_after(seconds):
            while not changes:
                pushed = await self._guard(queue.get)
                if pushed == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    continue
                lines = [bytes(line) for line in pushed]
                if any(line.startswith(b"BYE") for line in lines):
                    raise ImapUnavailable("the server ended the session during IDLE")
                changes = [line for line in lines if not line.startswith(b"OK")]
        self._client.idle_done()
        with anyio.fail_after(IDLE_DONE_SECONDS):
            await self._guard(lambda: ended)
        return changes

    async def _starttls(self, context: ssl.SSLContext, host: str) -> None:
        protocol = self._client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapTlsRefused(f"{host} does not offer STARTTLS: refusing to log in without TLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        response = await self._guard(lambda: protocol.execute(command))
        if response.result != "OK":
            raise ImapTlsRefused(f"{host} refused STARTTLS: {self._text(response)}")
        loop = asyncio.get_running_loop()
        protocol.transport = await self._guard(
            lambda: loop.start_tls(protocol.transport, protocol, context, server_hostname=host)
        )
        # Capabilities from before TLS cannot be trusted (RFC 3501 6.2.1): ask again.
        await self._guard(protocol.capability)

    async def _login(self, user: str, password: str) -> None:
        response = await self._guard(lambda: self._client.login(user, password))
        if response.result == "OK":
            return
        text = b" ".join(_lines(response))
        if response.result == "NO" and (
            any(code in text for code in _AUTH_CODES) or not text.startswith(b"[")
        ):
            raise ImapAuthFailed(f"IMAP login refused for {user}")
        raise ImapUnavailable(f"IMAP login of {user} failed: {self._text(response)}")

    async def _checked(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        response = await self._guard(call)
        if response.result != "OK":
            raise ImapUnavailable(f"{what} failed: {self._text(response)}")
        return response

    async def _guard(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run *call*; a lost connection or a library error becomes :class:`ImapUnavailable`."""
        if self._lost.is_set():
            raise ImapUnavailable("the IMAP connection was lost")
        results: list[T] = []
        failure: BaseException | None = None
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                await self._lost.wait()
                group.cancel_scope.cancel()

            group.start_soon(watch)
            try:
                results.append(await call())
            except ssl.SSLCertVerificationError as error:
                failure = ImapTlsRefused(f"the IMAP server's certificate is not trusted: {error}")
                failure.__cause__ = error
            except (aioimaplib.AioImapException, OSError, TimeoutError, EOFError) as error:
                failure = ImapUnavailable(f"IMAP: {type(error).__name__}: {error}")
                failure.__cause__ = error
            group.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if not results:
            raise ImapUnavailable("the IMAP connection was lost")
        return results[0]

    @staticmethod
    def _text(response: Any) -> str:
        return " ".join(line.decode(errors="replace") for line in _lines(response))[:300]
