"""The one script tag a hotel pastes into its website for a channel that ships a widget."""

from __future__ import annotations

from typing import Any

__all__ = ["embed_code"]


def embed_code(channel_class: Any, public_url: str | None, base_url: Any, hotel: str) -> str | None:
    """The tag of a guest-socket channel with a ``widget.js`` in its ``guest_assets``, or None.

    Its key is the hotel's slug and the channel's name: public, like the
    script itself; what keeps other sites out is the channel's allow-list
    (``guest_embedders``). *public_url* (the suite's ``public_url``) wins over
    the URL this page was asked at, which may be an internal one.
    """
    assets = channel_class.guest_assets
    if not channel_class.capabilities.guest_socket or assets is None:
        return None
    if not (assets / "widget.js").is_file():
        return None
    origin = (public_url or str(base_url)).rstrip("/")
    name = channel_class.name
    return (
        f'<script src="{origin}/guest/{hotel}/{name}/widget.js" '
        f'data-key="{hotel}/{name}" async></script>'
    )
