"""What ``begasist fleet k8s`` is asked for, and the secrets it puts in the manifests."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["PLACEHOLDER", "FleetSecrets", "K8sOptions", "bot_token_variable"]

# A DNS-1123 label: what Kubernetes accepts as a namespace's name.
DnsLabel = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", max_length=63)
]
# An image tag as registries take it (the OCI distribution spec's tag grammar).
ImageTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
HostName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        max_length=253,
    ),
]

PLACEHOLDER = "REPLACE-ME"
"""The value of a secret that the ``.env`` file did not hold; the file's header names it."""


class K8sOptions(BaseModel):
    """The command's flags: where, which images, which layout of bots."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: DnsLabel = "begasist"
    image_tag: ImageTag = "latest"
    suite_image: str = "begasist/suite"
    bot_image: str = "begasist/channelbot"
    sharded: Annotated[int, Field(ge=1, le=1000)] | None = None
    """N bot pods of one StatefulSet instead of a Deployment per hotel."""
    domain: HostName = "inbox.example.com"
    """The host name browsers and providers use: the Ingress's and BEGASIST_PUBLIC_URL's."""
    slot: DnsLabel = "blue"
    """The suite Deployment's blue/green slot: ``suite-<slot>``, and the Service selects it."""
    external_redis: bool = False
    """No Redis StatefulSet: BEGASIST_REDIS_URL comes from the .env file, in a Secret."""
    store: Literal["sqlite", "astra"] = "sqlite"
    """SQLite: one suite pod and its volume. Astra DB: two pods, rolled one at a time."""
    astra_keyspace: str = "default_keyspace"


class FleetSecrets(BaseModel):
    """The secret values for the manifests, as read from the ``.env`` file (None: absent)."""

    model_config = ConfigDict(frozen=True)

    secret_key: str | None = None
    bot_tokens: dict[str, str] = Field(default_factory=dict)
    """Each hotel's bot token, by slug (``BEGASIST_BOT_TOKEN_<SLUG>`` in the file)."""
    fleet_token: str | None = None
    redis_url: str | None = None
    astra_endpoint: str | None = None
    astra_token: str | None = None

    @classmethod
    def from_env_values(cls, values: dict[str, str | None], hotels: list[str]) -> FleetSecrets:
        """Pick the values the manifests need out of a parsed ``.env`` file."""

        def present(name: str) -> str | None:
            value = values.get(name)
            return value if value else None

        tokens = {}
        for hotel in hotels:
            token = present(bot_token_variable(hotel))
            if token is not None:
                tokens[hotel] = token
        return cls(
            secret_key=present("BEGASIST_SECRET_KEY"),
            bot_tokens=tokens,
            fleet_token=present("BEGASIST_FLEET_TOKEN"),
            redis_url=present("BEGASIST_REDIS_URL"),
            astra_endpoint=present("ASTRA_DB_API_ENDPOINT"),
            astra_token=present("ASTRA_DB_APPLICATION_TOKEN"),
        )


def bot_token_variable(hotel: str) -> str:
    """``BEGASIST_BOT_TOKEN_<SLUG>``: the slug upper-cased, ``-`` made ``_`` (as compose has it)."""
    return "BEGASIST_BOT_TOKEN_" + re.sub(r"-", "_", hotel).upper()
