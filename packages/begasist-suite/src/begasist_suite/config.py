"""The suite's settings, from ``BEGASIST_*`` environment variables (docs/suite.md lists them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from begasist_core.bus.redis_settings import RedisSettings
from begasist_core.events.streams import DEFAULT_PREFIX
from begasist_core.log_format import LogFormat
from pydantic import Field, PositiveFloat, PositiveInt, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

__all__ = ["SuiteSettings"]


class SuiteSettings(RedisSettings):
    """Everything ``begasist serve`` reads from its environment.

    Every field reads ``BEGASIST_<FIELD>``; the Astra fields read the names
    Astra's own tools use (``ASTRA_DB_API_ENDPOINT`` ...). The Redis of the
    deployment (required by ``serve``; ``dev`` starts its own) is
    :class:`~begasist_core.bus.redis_settings.RedisSettings`' URL or Sentinels.
    """

    model_config = SettingsConfigDict(env_prefix="BEGASIST_", extra="ignore", frozen=True)

    redis_wait_replicas: int = Field(default=0, ge=0)
    """Before a webhook (or a guest's frame) is acknowledged, wait for this many replicas
    to have its stream entry (``WAIT``), so a failover cannot lose it; fewer within
    ``redis_wait_timeout_ms`` answer 503 and the provider retries. The outbox relay
    waits the same way before it marks entries published. 0: do not wait."""
    redis_wait_timeout_ms: PositiveInt = 1000
    """How long that wait may take."""
    prefix: str = Field(default=DEFAULT_PREFIX, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    """Prefix of every stream and key: the same as the bots'."""
    secret_key: SecretStr | None = None
    """Encrypts channel secrets at rest (any string of 32+ characters). Required."""
    store: Literal["sqlite", "astra"] = "sqlite"
    sqlite_path: Path = Path("begasist.sqlite3")
    """The SQLite file, relative to the working directory unless absolute."""
    astra_db_api_endpoint: str | None = Field(
        default=None, validation_alias="ASTRA_DB_API_ENDPOINT"
    )
    astra_db_application_token: SecretStr | None = Field(
        default=None, validation_alias="ASTRA_DB_APPLICATION_TOKEN"
    )
    astra_db_keyspace: str = Field(default="default_keyspace", validation_alias="ASTRA_DB_KEYSPACE")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: str | None = None
    """The URL guests' providers and bots reach the suite at (shown in the admin)."""
    metrics_token: SecretStr | None = None
    """Bearer token for ``/metrics``; unset, only loopback and private addresses not
    relayed by a proxy may read it (begasist_suite/metrics.py)."""
    cookie_secure: bool = True
    """Send the session cookie over HTTPS only; ``dev`` turns it off for http://127.0.0.1."""
    behind_tls_proxy: bool = False
    """A proxy in front terminates TLS: lets ``serve`` bind a non-loopback address in plain
    HTTP with Secure cookies (a ``public_url`` starting with ``https://`` says the same)."""
    session_hours: PositiveFloat = 12.0
    invitation_hours: PositiveFloat = 72.0
    """How long an invitation link to join a hotel works (once)."""
    purge_seconds: PositiveFloat = 3600.0
    """How often expired sessions, tokens, invitations and Idempotency-Key records are
    deleted from the store (every this many seconds)."""
    webhook_max_body_bytes: PositiveInt = 1_048_576
    """Larger webhook bodies answer 413 and are not enqueued."""
    api_max_body_bytes: PositiveInt = 1_048_576
    max_request_headers: PositiveInt = 100
    """Headers per request (any route); more answer 431 before anything reads them."""
    max_header_bytes: PositiveInt = 32_768
    """Total size of a request's header names and values; more answer 431."""
    request_read_timeout_seconds: PositiveFloat = 30.0
    """A request body not wholly received this long after its headers answers 408; a
    connection whose request headers take longer is closed."""
    login_attempts: PositiveInt = 10
    """Login attempts per (email, client address) pair in ``login_window_seconds``."""
    login_address_attempts: PositiveInt = 100
    """Login attempts per client address, whatever the email (password spraying)."""
    login_account_attempts: PositiveInt = 1000
    """Login attempts per email from all addresses (distributed guessing)."""
    login_window_seconds: PositiveInt = 300
    live_recheck_seconds: PositiveFloat = 30.0
    """How often an open live socket re-checks its caller even without an access notice
    (a change made where no notice is sent, such as the CLI in another process)."""
    live_allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Browser origins besides the suite's own that may open the live socket (comma-separated)."""
    guest_max_frame_bytes: PositiveInt = 65_536
    """Frames from guest sockets (web chat) over this close the socket (1009) unread by
    the channel, whose own limit is usually lower."""
    guest_hello_timeout_seconds: PositiveFloat = 10.0
    """A guest socket that sends no hello frame this long after opening is closed."""
    guest_window_seconds: PositiveInt = 60
    """The window of the guest-socket and guest-upload rate limits below (frames,
    connections, new visitors, files)."""
    guest_visitor_frames: PositiveInt = 30
    """Frames per visitor per window; more close the socket (4429)."""
    guest_address_frames: PositiveInt = 300
    """Frames per client address per window, whatever the visitor."""
    guest_address_connections: PositiveInt = 60
    """Guest sockets opened per client address per window."""
    guest_address_new_visitors: PositiveInt = 20
    """New visitors (first visits: a visitor id and token minted) per client address per
    hotel per window, counted once the channel admitted the page; more close the socket
    (4429). An IPv6 client counts by its /64, /56 and /48 (``guest_prefix_factor``)."""
    guest_hotel_new_visitors: PositiveInt = 600
    """New conversations per hotel per window (a visitor's first message), from every
    address; each hotel counts its own. Past it the hotel is not closed to newcomers:
    each client address (IPv6: its /48) may still start ``guest_busy_address_new_visitors``
    conversations in the window, then 4429."""
    guest_busy_address_new_visitors: PositiveInt = 2
    """New conversations per client address (IPv6: per /48) per window at a hotel whose
    ``guest_hotel_new_visitors`` are spent."""
    guest_prefix_factor: PositiveInt = 4
    """An IPv6 client's per-address limits count by its /64 with an address's limit, its
    /56 with this many times that and its /48 with its square (one party's several /64s)."""
    guest_visitor_token_days: PositiveFloat = 30.0
    """A visitor token older than this is refused (4401) and the widget starts afresh as a
    new visitor; every connection is answered with a fresh token, so the age counts from
    the visitor's last visit."""
    guest_address_open_sockets: PositiveInt = 20
    """Guest sockets one client address may hold open at once on one replica (an IPv6
    client counts by its /64, /56 and /48 as above); more close at once (4429)."""
    guest_open_sockets: PositiveInt = 10_000
    """Guest sockets one replica holds open at once, from every client; more close at once
    (1013: the widget tries again, maybe on another replica)."""
    guest_hotel_frames: PositiveInt = 3000
    """Guest frames enqueued per hotel per window (messages and receipts, from every
    guest); more close the socket (1013) and the widget sends them again later."""
    guest_ingress_backlog: PositiveInt = 10_000
    """Guest frames are refused (1013) while this many entries of the hotel's ingress
    stream are not yet handled by its bot (looked up at most once a second per replica).
    Keep it well below ``BEGASIST_INGRESS_BACKLOG_LIMIT``: the room above it is the
    webhooks'."""
    ingress_backlog_limit: PositiveInt = 100_000
    """Webhooks (and guest frames) for a hotel are refused with 503 (the provider retries
    later) while its bot is this many entries behind on its ingress stream. Streams are
    never trimmed of what a bot has not acknowledged, so this bounds the Redis memory a
    hotel whose bot is down can take (about 1-2 kB an entry)."""
    guest_send_timeout_seconds: PositiveFloat = 30.0
    """A frame to a WebSocket (guest or staff) not written this long (the client reads
    nothing) ends its session and aborts the connection."""
    guest_visitor_uploads: PositiveInt = 10
    """Files one visitor may upload per guest window (``/guest/.../uploads``); more answer 429."""
    guest_address_uploads: PositiveInt = 60
    """Files one client address may upload per guest window, whatever the visitor."""
    guest_address_upload_bytes: PositiveInt = 50 * 1024 * 1024
    """Bytes one client address may upload per guest window, counted as they stream in;
    past it the upload answers 429 and nothing of it is kept."""
    guest_hotel_upload_bytes: PositiveInt = 200 * 1024 * 1024
    """Bytes all guests of one hotel may upload per guest window, from every address."""
    guest_hotel_upload_bytes_per_day: PositiveInt = 2 * 1024 * 1024 * 1024
    """Bytes all guests of one hotel may upload per day (a window of 86,400 s): with
    ``guest_upload_pending_hours``, what uploads no message names take on disk."""
    guest_upload_pending_hours: PositiveFloat = 24.0
    """An upload no message names this long after it (the last time its bytes were
    uploaded) is deleted; a message naming it keeps it for good."""
    guest_upload_sweep_seconds: PositiveFloat = 600.0
    """How often each replica deletes the uploads older than ``guest_upload_pending_hours``
    that no message names."""
    guest_idle_seconds: PositiveFloat = 300.0
    """A guest socket that sends no frame this long is closed (1000, "idle"); a widget
    sends a ping frame more often while its page is open."""
    shutdown_grace_seconds: PositiveInt = 10
    """On SIGTERM, how long open requests and sockets (live, guest) get to finish before
    they are cancelled (browsers and widgets reconnect to another replica)."""
    consumer: bool = True
    """Run the event consumer in this process (turn off on API-only replicas)."""
    consumer_name: str | None = None
    """This replica's consumer name in the group; default: host name and pid."""
    claim_idle_seconds: PositiveFloat = 30.0
    max_deliveries: PositiveInt = 5
    media_dir: Path = Path("media")
    """Guests' downloaded files, one folder per hotel: the bots' ``BEGASIST_MEDIA_DIR``."""
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    """One line of text or one JSON object per log record (timestamp, level, logger,
    message, hotel, channel, request_id)."""

    @field_validator("live_allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip() for origin in value.split(",") if origin.strip())
        return value
