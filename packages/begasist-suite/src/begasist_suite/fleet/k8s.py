"""``begasist fleet k8s``: Kubernetes manifests from the hotels in the store.

:func:`build_manifests` turns the hotel list, the options and the secrets into
files of Kubernetes objects (plain dicts); :func:`write_manifests` writes them as
multi-document YAML. Both are deterministic: the same store and ``.env`` give
the same bytes, and a hotel added or removed changes only its own objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from begasist_suite.fleet.k8s_bots import BOT_TOKENS_SECRET, FLEET_TOKEN_SECRET, bot_manifests
from begasist_suite.fleet.k8s_options import (
    PLACEHOLDER,
    FleetSecrets,
    K8sOptions,
    bot_token_variable,
)
from begasist_suite.fleet.k8s_pods import REDIS_SECRET, labels, metadata
from begasist_suite.fleet.k8s_suite import (
    ASTRA_SECRET,
    SUITE_SECRET,
    redis_manifests,
    suite_ingress,
    suite_manifests,
)

__all__ = ["MANIFEST_FILES", "SECRETS_FILE", "ManifestFile", "build_manifests", "write_manifests"]

SECRETS_FILE = "10-secrets.yaml"
MANIFEST_FILES = (
    "00-namespace.yaml",
    SECRETS_FILE,
    "20-redis.yaml",
    "30-suite.yaml",
    "40-ingress.yaml",
    "50-bots.yaml",
)
"""Every file the command may write, in the order ``kubectl apply -f DIR`` reads them."""


@dataclass(frozen=True)
class ManifestFile:
    """One file of the output: its objects, and the comment lines heading it."""

    name: str
    objects: list[dict[str, Any]]
    notes: tuple[str, ...] = ()


def build_manifests(
    hotels: list[str], options: K8sOptions, secrets: FleetSecrets
) -> list[ManifestFile]:
    """The files for *hotels* (any order) as *options* asks, secrets from *secrets*."""
    hotels = sorted(hotels)
    secret_objects, placeholders = _secrets(hotels, options, secrets)
    secret_notes = (
        "Secrets: keep this file out of git (mode 0600).",
        *(
            f"{PLACEHOLDER}: {where} was not in the .env file; set it before applying."
            for where in placeholders
        ),
    )
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        # Every pod here passes the restricted Pod Security Standard: enforce it.
        "metadata": {
            "name": options.namespace,
            "labels": {
                **labels("fleet"),
                "app.kubernetes.io/part-of": "begasist",
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
    }
    files = [
        ManifestFile("00-namespace.yaml", [namespace]),
        ManifestFile(SECRETS_FILE, secret_objects, secret_notes),
    ]
    if not options.external_redis:
        files.append(ManifestFile("20-redis.yaml", redis_manifests(options)))
    files += [
        ManifestFile("30-suite.yaml", suite_manifests(options)),
        ManifestFile(
            "40-ingress.yaml",
            [suite_ingress(options)],
            ("An example for ingress-nginx and cert-manager: adapt the class and the issuer.",),
        ),
        ManifestFile("50-bots.yaml", bot_manifests(hotels, options)),
    ]
    return files


def _secrets(
    hotels: list[str], options: K8sOptions, secrets: FleetSecrets
) -> tuple[list[dict[str, Any]], list[str]]:
    placeholders: list[str] = []

    def value(found: str | None, where: str) -> str:
        if found is None:
            placeholders.append(where)
            return PLACEHOLDER
        return found

    objects = [
        _secret(
            SUITE_SECRET,
            options,
            {"BEGASIST_SECRET_KEY": value(secrets.secret_key, "BEGASIST_SECRET_KEY")},
        )
    ]
    if options.sharded is not None:
        token = value(secrets.fleet_token, "BEGASIST_FLEET_TOKEN")
        objects.append(_secret(FLEET_TOKEN_SECRET, options, {"BEGASIST_FLEET_TOKEN": token}))
    else:
        tokens = {
            hotel: value(secrets.bot_tokens.get(hotel), bot_token_variable(hotel))
            for hotel in hotels
        }
        objects.append(_secret(BOT_TOKENS_SECRET, options, tokens))
    if options.external_redis:
        url = value(secrets.redis_url, "BEGASIST_REDIS_URL")
        objects.append(_secret(REDIS_SECRET, options, {"BEGASIST_REDIS_URL": url}))
    if options.store == "astra":
        astra = {
            "ASTRA_DB_API_ENDPOINT": value(secrets.astra_endpoint, "ASTRA_DB_API_ENDPOINT"),
            "ASTRA_DB_APPLICATION_TOKEN": value(secrets.astra_token, "ASTRA_DB_APPLICATION_TOKEN"),
        }
        objects.append(_secret(ASTRA_SECRET, options, astra))
    return objects, placeholders


def _secret(name: str, options: K8sOptions, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, options, labels("secrets")),
        "type": "Opaque",
        "stringData": data,
    }


class _PlainDumper(yaml.SafeDumper):
    """Writes a dict used twice (a selector and its pods' labels) twice, not as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(file: ManifestFile, header: str) -> str:
    """One file's text: the header and notes as comments, then its objects as YAML."""
    comments = "".join(f"# {line}\n" for line in (header, *file.notes))
    body = yaml.dump_all(
        file.objects, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False
    )
    return comments + body


def write_manifests(
    out: Path, files: list[ManifestFile], header: str, *, secrets: bool = True
) -> list[Path]:
    """Write *files* under *out*, remove this command's files it no longer makes.

    The secrets file is created with mode 0600 before anything is written to it.
    Without *secrets* it is neither written nor removed: the Secrets are kept
    elsewhere (created by hand, or by an operator such as External Secrets).
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for file in files:
        if file.name == SECRETS_FILE and not secrets:
            continue
        path = out / file.name
        text = render(file, header)
        if file.name == SECRETS_FILE:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
        else:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    names = {file.name for file in files}
    for stale in MANIFEST_FILES:
        if stale not in names and (secrets or stale != SECRETS_FILE):
            (out / stale).unlink(missing_ok=True)
    return written
