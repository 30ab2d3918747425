"""No secret reaches the log: `begasist serve` at DEBUG, every kind of secret used, then a scan.

Both log formats (``BEGASIST_LOG_FORMAT=text|json``) are scanned; the JSON run
also shows each line parses and carries its request's context.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from begasist_channels_whatsapp import sign_body
from begasist_core import StreamNames
from begasist_suite.auth.credentials import digest, new_secret
from begasist_suite.auth.principal import SESSION_COOKIE
from begasist_suite.store.records import Credential, CredentialKind, Role
from begasist_suite.store.sqlite import SqliteDatabase
from begasist_suite.store.store import Store
from websockets.asyncio.client import connect
from websockets.typing import Origin

from tests.channels.whatsapp.samples import MESSAGES
from tests.suite.conftest import PASSWORD, TEST_SECRET_KEY, add_member
from tests.suite.test_cli import clean_environment, free_port

pytestmark = pytest.mark.anyio

ADMIN = "root@plaza.test"
NUMBER = "1111111111111"
CHANNEL_SECRETS = {
    "access_token": "hotel-access-token-5b1f0c",
    "app_secret": "hotel-app-secret-93d7aa",
    "verify_token": "hotel-verify-token-c2e8f1",
}
APP_SECRETS = {"app_secret": "operator-app-secret-71c0de", "verify_token": "operator-verify-44ab9e"}
DEADLINE = 30.0


REQUEST_ID = "log-secrets-request-42"


@pytest.fixture(params=["text", "json"])
def served_at_debug(
    tmp_path: Path,
    begasist_redis_url: str,
    begasist_names: StreamNames,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, Path]]:
    """``begasist serve --log-level DEBUG`` on a free port, in each log format; its URL and log."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    environment = clean_environment(
        BEGASIST_REDIS_URL=begasist_redis_url,
        BEGASIST_PREFIX=begasist_names.prefix,
        BEGASIST_SECRET_KEY=TEST_SECRET_KEY,
        BEGASIST_SQLITE_PATH=str(tmp_path / "suite.sqlite3"),
        BEGASIST_MEDIA_DIR=str(tmp_path / "media"),
        BEGASIST_COOKIE_SECURE="false",
        BEGASIST_LOG_FORMAT=request.param,
    )
    command = [sys.executable, "-m", "begasist_suite.cli", "--log-level", "DEBUG", "serve"]
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=tmp_path,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        ) as process,
    ):
        try:
            yield f"http://127.0.0.1:{port}", log_path
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def seed(database: Path) -> str:
    """A platform admin in plaza, and plaza's bot token (returned)."""
    store = Store(SqliteDatabase(database))
    await store.migrate()
    try:
        await add_member(store, "plaza", ADMIN, Role.OWNER, platform_admin=True)
        bot_token = new_secret("bot_token")
        await store.add_credential(
            Credential(digest=digest(bot_token), kind=CredentialKind.BOT_TOKEN, hotel="plaza")
        )
    finally:
        await store.aclose()
    return bot_token


async def wait_until_up(client: httpx.AsyncClient) -> None:
    with anyio.fail_after(DEADLINE):
        while True:
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await anyio.sleep(0.1)  # serve reports readiness only by answering


def delivery() -> bytes:
    change = json.loads(json.dumps(MESSAGES["text"]["entry"][0]["changes"][0]))
    change["value"]["metadata"]["phone_number_id"] = NUMBER
    entry = {"id": "1234567890987654321", "changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


async def test_a_debug_run_logs_no_secret(
    served_at_debug: tuple[str, Path], tmp_path: Path
) -> None:
    url, log = served_at_debug
    secrets = [PASSWORD, *CHANNEL_SECRETS.values(), *APP_SECRETS.values()]
    bot_token = await seed(tmp_path / "suite.sqlite3")
    secrets.append(bot_token)
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        await wait_until_up(client)
        wrong = await client.post(
            "/api/v1/auth/login", json={"email": ADMIN, "password": "wrong-guess-0e7c"}
        )
        assert wrong.status_code == 401
        secrets.append("wrong-guess-0e7c")
        login = await client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        login.raise_for_status()
        csrf = login.json()["csrf_token"]
        session = client.cookies[SESSION_COOKIE]
        secrets += [csrf, session]
        client.headers["x-csrf-token"] = csrf

        settings = {"phone_number_id": NUMBER, "waba_id": "1234567890987654321"}
        put = await client.put(
            "/api/v1/hotels/plaza/channels/whatsapp", json={**settings, **CHANNEL_SECRETS}
        )
        assert put.status_code == 200, put.text
        app = await client.put("/api/v1/channel-apps/whatsapp", json=APP_SECRETS)
        assert app.status_code == 200, app.text
        token = (await client.post("/api/v1/me/tokens", json={"name": "script"})).json()["token"]
        secrets.append(token)
        bearer = {"authorization": f"Bearer {token}"}
        traced = {**bearer, "x-request-id": REQUEST_ID}
        assert (await client.get("/api/v1/me", headers=traced)).status_code == 200
        bot = {"authorization": f"Bearer {bot_token}"}
        assert (await client.get("/api/v1/hotels/plaza/bot/settings", headers=bot)).is_success

        for path, verify_token in [
            ("/webhooks/plaza/whatsapp", CHANNEL_SECRETS["verify_token"]),
            ("/webhooks/_app/whatsapp", APP_SECRETS["verify_token"]),
        ]:
            query = {"hub.mode": "subscribe", "hub.verify_token": verify_token}
            handshake = await client.get(path, params={**query, "hub.challenge": "1158201444"})
            assert (handshake.status_code, handshake.text) == (200, "1158201444")
        body = delivery()
        for path, app_secret in [
            ("/webhooks/plaza/whatsapp", CHANNEL_SECRETS["app_secret"]),
            ("/webhooks/_app/whatsapp", APP_SECRETS["app_secret"]),
        ]:
            signature = sign_body(app_secret, body)
            secrets.append(signature.removeprefix("sha256="))
            headers = {"x-hub-signature-256": signature, "content-type": "application/json"}
            posted = await client.post(path, content=body, headers=headers)
            assert posted.status_code == 200, posted.text

        socket_url = url.replace("http://", "ws://") + "/api/v1/hotels/plaza/live"
        cookie = {"cookie": f"{SESSION_COOKIE}={session}"}
        async with connect(socket_url, additional_headers=cookie, origin=Origin(url)) as socket:
            await socket.send("ping")
            with anyio.fail_after(DEADLINE):
                assert json.loads(await socket.recv()) == {"kind": "pong"}
        assert (await client.post("/api/v1/auth/logout")).status_code == 204

    text = log.read_text(encoding="utf-8", errors="replace")
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked, f"secrets in the log: {leaked}\n{text}"
    # The scan means something only if the run logged what it did, at DEBUG.
    records = parsed(text)
    assert any(level == "DEBUG" for level, _, _ in records)
    assert any("GET /webhooks/plaza/whatsapp?" in line for _, line, _ in records)
    assert any("POST /api/v1/auth/login" in line for _, line, _ in records)
    # The bot's settings fetch is routine: no INFO line for it, a DEBUG one (the flag's
    # level reaches uvicorn's access log too).
    assert not [line for level, line, _ in records if level == "INFO" and "/bot/settings" in line]
    assert [line for level, line, _ in records if level == "DEBUG" and "/bot/settings" in line]
    traced_lines = [context for _, line, context in records if "GET /api/v1/me " in line]
    assert traced_lines
    assert traced_lines[0]["request_id"] == REQUEST_ID
    webhook = [context for _, line, context in records if "POST /webhooks/plaza/" in line]
    assert webhook
    assert (webhook[0]["hotel"], webhook[0]["channel"]) == ("plaza", "whatsapp")


def parsed(text: str) -> list[tuple[str, str, dict[str, str]]]:
    """Each record's level, message and context (hotel, channel, request_id), in either format."""
    if not text.startswith("{"):
        records = []
        for line in text.splitlines():
            head = TEXT_LINE.match(line)
            if head is not None:
                context = dict(pair.split("=", 1) for pair in (head["context"] or "").split())
                records.append((head["level"], head["message"], context))
        return records
    documents = [json.loads(line) for line in text.splitlines()]  # every line is JSON
    return [
        (document["level"], document["message"], {**document, "message": ""})
        for document in documents
    ]


TEXT_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT[\d:.]+Z (?P<level>[A-Z]+) \S+: (?P<message>.*?)"
    r"(?: \[(?P<context>(?:hotel|channel|request_id)=[^\]]*)\])?$"
)
