"""``begasist dev``'s demo hotel website: a page of another origin with the web chat embedded.

The demo serves it on its own port (so its origin is not the suite's, as a
hotel's site is not) and configures the demo hotel's ``webchat`` channel to
allow that origin, so the widget works there out of the box.
"""

from __future__ import annotations

import html
from typing import Any, Final

from begasist_core import PluginManager, UnknownChannel

from begasist_suite.channel_settings import apply_settings_update
from begasist_suite.secret_box import SecretBox
from begasist_suite.store.store import Store

__all__ = ["DEMO_GREETING", "demo_site_app", "demo_site_page", "seed_demo_webchat"]

WEBCHAT: Final = "webchat"
DEMO_GREETING: Final = "Hello! Ask us anything about your stay."
_POLICY: Final = "default-src 'none'; script-src {suite}; connect-src {suite}; frame-src {suite}"


def demo_site_page(suite_url: str, hotel: str, hotel_name: str) -> bytes:
    """The hotel's home page: a heading, a line of text and the one script tag."""
    suite = html.escape(suite_url, quote=True)
    name = html.escape(hotel_name)
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{name}</title></head>\n<body>\n<h1>{name}</h1>\n"
        "<p>The demo hotel's website. The chat button at the bottom right is the "
        "Begasist web chat: write, and answer from the staff inbox.</p>\n"
        f'<script src="{suite}/guest/{hotel}/{WEBCHAT}/widget.js" '
        f'data-key="{hotel}/{WEBCHAT}" async></script>\n</body>\n</html>\n'
    ).encode()


def demo_site_app(suite_url: str, page: bytes) -> Any:
    """A plain ASGI app answering *page* to every GET (the hotel's site needs no more)."""
    policy = _POLICY.format(suite=suite_url).encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status = 200 if scope["method"] in ("GET", "HEAD") else 405
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-security-policy", policy),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": page if status == 200 else b""})

    return app


async def seed_demo_webchat(
    store: Store, box: SecretBox, plugins: PluginManager, hotel: str, origin: str
) -> bool:
    """Let *origin* embed *hotel*'s web chat (set it up if new); False without the plugin.

    Kept settings (a greeting staff changed) stay; only the allow-list gains the
    demo site's origin, which changes when the demo's port does.
    """
    try:
        model = plugins.channel(WEBCHAT).Settings
    except UnknownChannel:
        return False
    stored = await store.get_channel_config(hotel, WEBCHAT)
    body: dict[str, Any] = (
        {"enabled": True, "greeting": DEMO_GREETING} if stored is None else dict(stored.settings)
    )
    allowed = body.get("allowed_origins")
    origins = [str(o) for o in allowed] if isinstance(allowed, list) else []
    if stored is not None and origin in origins:
        return True
    body["allowed_origins"] = [*origins, origin][-50:]
    config = apply_settings_update(model, hotel, WEBCHAT, body, stored, box)
    await store.put_channel_config(config)
    await store.bump_config_version(hotel)
    return True
