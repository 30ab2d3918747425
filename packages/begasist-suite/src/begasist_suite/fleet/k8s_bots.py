"""The bots' manifests: a Deployment of two and a PodDisruptionBudget per hotel, or shards.

Per hotel (the default): ``bot-<slug>`` runs ``channelbot --hotel <slug>`` in two
pods; the hotel's lease in Redis makes one active and keeps the other as a hot
standby, so a drained node or a rolling update never leaves the hotel unserved
for longer than the lease TTL.

Sharded (``--sharded N``): one StatefulSet ``bots`` of N pods, each running
``channelbot --shard-from-hostname`` with ``BEGASIST_SHARD_COUNT=N``: pod
``bots-K`` serves shard K of N (its ordinal read from its host name, so no shell
is needed) and stands by for the hotels whose second choice it is.
"""

from __future__ import annotations

from typing import Any

from begasist_suite.fleet.k8s_options import K8sOptions
from begasist_suite.fleet.k8s_pods import (
    MEDIA_CLAIM,
    container_security,
    labels,
    metadata,
    pod_security,
    redis_url_env,
    secret_env,
)
from begasist_suite.fleet.k8s_resources import BOT, SHARD_BOT, PodResources

__all__ = ["BOT_TOKENS_SECRET", "FLEET_TOKEN_SECRET", "HEALTH_PORT", "bot_manifests"]

BOT_TOKENS_SECRET = "begasist-bot-tokens"
"""One key per hotel slug: that hotel's bot token."""
FLEET_TOKEN_SECRET = "begasist-fleet-token"
"""BEGASIST_FLEET_TOKEN: the sharded bots list the hotels and read their settings with it."""
HEALTH_PORT = 8081
"""BEGASIST_BOT_HEALTH_PORT: /health, /ready and /metrics."""


def bot_manifests(hotels: list[str], options: K8sOptions) -> list[dict[str, Any]]:
    """The bots of *hotels*, sorted by slug, as *options* lays them out."""
    if options.sharded is not None:
        return _sharded(options.sharded, options)
    manifests: list[dict[str, Any]] = []
    for hotel in sorted(hotels):
        manifests += [_hotel_deployment(hotel, options), _hotel_budget(hotel, options)]
    return manifests


def _hotel_deployment(hotel: str, options: K8sOptions) -> dict[str, Any]:
    selector = labels("channelbot", hotel=hotel)
    token = secret_env("BEGASIST_BOT_TOKEN", BOT_TOKENS_SECRET, hotel)
    pod = _pod(["--hotel", hotel], [token], BOT, options, selector)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(f"bot-{hotel}", options, selector),
        "spec": {
            # Two, and the lease makes one active: the other takes over within its TTL.
            "replicas": 2,
            # The new pod starts as a standby before an old one goes: never fewer than two.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "selector": {"matchLabels": selector},
            "template": pod,
        },
    }


def _hotel_budget(hotel: str, options: K8sOptions) -> dict[str, Any]:
    selector = labels("channelbot", hotel=hotel)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(f"bot-{hotel}", options, selector),
        # A drain evicts one of the two at a time; the other holds or takes the lease.
        "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
    }


def _sharded(count: int, options: K8sOptions) -> list[dict[str, Any]]:
    selector = labels("channelbot", layout="sharded")
    env = [
        {"name": "BEGASIST_SHARD_COUNT", "value": str(count)},
        secret_env("BEGASIST_FLEET_TOKEN", FLEET_TOKEN_SECRET, "BEGASIST_FLEET_TOKEN"),
    ]
    pod = _pod(["--shard-from-hostname"], env, SHARD_BOT, options, selector)
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata("bots", options, selector),
        "spec": {
            "serviceName": "bots",
            "replicas": count,
            # The shards need no order: each finds its own hotels from its name.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector},
            "template": pod,
        },
    }
    # The StatefulSet's governing Service: a stable name per pod, for metrics scrapes.
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("bots", options, selector),
        "spec": {
            "clusterIP": "None",
            "selector": selector,
            "ports": [{"name": "health", "port": HEALTH_PORT, "targetPort": "health"}],
        },
    }
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata("bots", options, selector),
        # One shard down at a time: its hotels' second-choice shards stand by for them.
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }
    return [service, statefulset, budget]


def _pod(
    args: list[str],
    env: list[dict[str, Any]],
    resources: PodResources,
    options: K8sOptions,
    pod_labels: dict[str, str],
) -> dict[str, Any]:
    container = {
        "name": "channelbot",
        "image": f"{options.bot_image}:{options.image_tag}",
        "args": args,
        "ports": [{"name": "health", "containerPort": HEALTH_PORT}],
        "env": [
            redis_url_env(options),
            {"name": "BEGASIST_SUITE_URL", "value": "http://suite:8000"},
            *env,
            {"name": "BEGASIST_MEDIA_DIR", "value": "/media"},
            {"name": "BEGASIST_BOT_HEALTH_PORT", "value": str(HEALTH_PORT)},
            # Beyond loopback, so the kubelet's liveness check and Prometheus reach it;
            # the port serves three read-only pages and nothing secret.
            {"name": "BEGASIST_BOT_HEALTH_HOST", "value": "0.0.0.0"},
        ],
        # Liveness: the event loop answers. Not /ready: a bot waiting for Redis or for
        # a failed channel's restart must not be killed for it.
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": "health"},
            "periodSeconds": 15,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        # Readiness: `channelbot health` asks /ready (lease state, channels, Redis).
        "readinessProbe": {
            "exec": {"command": ["channelbot", "health"]},
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "resources": resources.as_k8s(),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "media", "mountPath": "/media"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return {
        "metadata": {"labels": pod_labels},
        "spec": {
            "securityContext": pod_security(),
            # Longer than the bot's SIGTERM drain (BEGASIST_DRAIN_SECONDS, 10 s).
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
            "volumes": [
                {"name": "media", "persistentVolumeClaim": {"claimName": MEDIA_CLAIM}},
                {"name": "tmp", "emptyDir": {}},
            ],
        },
    }
