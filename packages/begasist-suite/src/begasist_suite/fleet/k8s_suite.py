"""The suite's and Redis's manifests: volumes, Deployment, StatefulSet, Services, Ingress."""

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
from begasist_suite.fleet.k8s_resources import REDIS, SUITE

__all__ = ["ASTRA_SECRET", "SUITE_SECRET", "redis_manifests", "suite_ingress", "suite_manifests"]

SUITE_SECRET = "begasist-suite"
"""Holds BEGASIST_SECRET_KEY."""
ASTRA_SECRET = "begasist-astra"
"""Holds ASTRA_DB_API_ENDPOINT and ASTRA_DB_APPLICATION_TOKEN (``--store astra``)."""
SUITE_PORT = 8000
REDIS_USER = 999
"""The ``redis`` user of the redis:7-alpine image: its entry point runs the server as it."""


def suite_manifests(options: K8sOptions) -> list[dict[str, Any]]:
    """The suite's volumes, its Deployment ``suite-<slot>`` and its Service ``suite``.

    With SQLite, one pod and its ReadWriteOnce volume; with Astra DB, two pods
    and a PodDisruptionBudget keeping one of them up.
    """
    manifests = []
    if options.store == "sqlite":
        manifests.append(_claim("suite-data", options, "ReadWriteOnce", "5Gi", "suite"))
    manifests += [
        _claim(MEDIA_CLAIM, options, "ReadWriteMany", "20Gi", "media"),
        _suite_deployment(options),
        _suite_service(options),
    ]
    if options.store == "astra":
        selector = labels("suite", slot=options.slot)
        manifests.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": metadata(f"suite-{options.slot}", options, selector),
                "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
            }
        )
    return manifests


def _claim(name: str, options: K8sOptions, mode: str, size: str, component: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(name, options, labels(component)),
        "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}},
    }


def _suite_deployment(options: K8sOptions) -> dict[str, Any]:
    selector = labels("suite", slot=options.slot)
    container = {
        "name": "suite",
        "image": f"{options.suite_image}:{options.image_tag}",
        "args": ["serve"],
        "ports": [{"name": "http", "containerPort": SUITE_PORT}],
        "env": [
            redis_url_env(options),
            secret_env("BEGASIST_SECRET_KEY", SUITE_SECRET, "BEGASIST_SECRET_KEY"),
            # https:// also tells `serve` that TLS ends in front of it (the Ingress).
            {"name": "BEGASIST_PUBLIC_URL", "value": f"https://{options.domain}"},
            # Only the Ingress controller and the bots reach the pod (a ClusterIP Service),
            # and the controller's addresses change: trust X-Forwarded-* from any peer.
            {"name": "FORWARDED_ALLOW_IPS", "value": "*"},
            {"name": "BEGASIST_MEDIA_DIR", "value": "/media"},
            *_store_env(options),
        ],
        # Start-up migrates the store: give it a minute before liveness counts.
        "startupProbe": _http_probe("/health", period=2, failures=30),
        # Liveness restarts a process that stopped answering; readiness takes the pod out
        # of the Service while the store, Redis or the consumer does not work (docs/deploy.md).
        "livenessProbe": _http_probe("/health", period=15, failures=3),
        "readinessProbe": _http_probe("/ready", period=10, failures=3),
        "resources": SUITE.as_k8s(),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "media", "mountPath": "/media"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    strategy: dict[str, Any]
    if options.store == "sqlite":
        # SQLite on a ReadWriteOnce volume: one pod, and the old one lets go of the file first.
        replicas, strategy = 1, {"type": "Recreate"}
        data: dict[str, Any] = {"persistentVolumeClaim": {"claimName": "suite-data"}}
    else:
        # Astra DB is shared: two pods, a new one ready before an old one goes.
        replicas, data = 2, {"emptyDir": {}}
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(f"suite-{options.slot}", options, selector),
        "spec": {
            "replicas": replicas,
            "strategy": strategy,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "securityContext": pod_security(),
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [
                        {"name": "data", **data},
                        {"name": "media", "persistentVolumeClaim": {"claimName": MEDIA_CLAIM}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


def _store_env(options: K8sOptions) -> list[dict[str, Any]]:
    if options.store == "sqlite":
        return [{"name": "BEGASIST_SQLITE_PATH", "value": "/data/begasist.sqlite3"}]
    return [
        {"name": "BEGASIST_STORE", "value": "astra"},
        secret_env("ASTRA_DB_API_ENDPOINT", ASTRA_SECRET, "ASTRA_DB_API_ENDPOINT"),
        secret_env("ASTRA_DB_APPLICATION_TOKEN", ASTRA_SECRET, "ASTRA_DB_APPLICATION_TOKEN"),
        {"name": "ASTRA_DB_KEYSPACE", "value": options.astra_keyspace},
    ]


def _http_probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _suite_service(options: K8sOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("suite", options, labels("suite")),
        "spec": {
            # The blue/green switch: point the slot at the other Deployment (docs/deploy.md).
            "selector": labels("suite", slot=options.slot),
            "ports": [{"name": "http", "port": SUITE_PORT, "targetPort": "http"}],
        },
    }


def suite_ingress(options: K8sOptions) -> dict[str, Any]:
    """An example Ingress for ingress-nginx with cert-manager: TLS and WebSockets.

    ingress-nginx passes WebSocket upgrades by itself; what the live inbox and the
    web chat need are read/send timeouts above their idle minute (its default is
    60 s) and a body limit a little above the suite's own (Caddy's 2 MB).
    """
    annotations = {
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-body-size": "2m",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
    }
    object_metadata = metadata("suite", options, labels("suite"))
    object_metadata["annotations"] = annotations
    backend = {"service": {"name": "suite", "port": {"name": "http"}}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": object_metadata,
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": [options.domain], "secretName": "suite-tls"}],
            "rules": [
                {
                    "host": options.domain,
                    "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                }
            ],
        },
    }


def redis_manifests(options: K8sOptions) -> list[dict[str, Any]]:
    """Redis 7 with AOF on a volume of its own: a headless Service and a StatefulSet of one."""
    selector = labels("redis")
    ping = {"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 10, "timeoutSeconds": 3}
    container = {
        "name": "redis",
        "image": "redis:7-alpine",
        "args": [
            "redis-server",
            # AOF: an acknowledged event survives a restart (docs/deploy.md, "Redis in production").
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            # Evicting a stream or a lease is data loss: refuse writes instead, and below
            # the container's memory limit (leaving room for the AOF rewrite's fork).
            "--maxmemory",
            "1536mb",
            "--maxmemory-policy",
            "noeviction",
        ],
        "ports": [{"name": "redis", "containerPort": 6379}],
        "livenessProbe": ping,
        "readinessProbe": ping,
        "resources": REDIS.as_k8s(),
        "securityContext": container_security(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    claim = {
        "metadata": {"name": "data", "labels": selector},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata("redis", options, selector),
        "spec": {
            "serviceName": "redis",
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "securityContext": pod_security(REDIS_USER),
                    "containers": [container],
                },
            },
            "volumeClaimTemplates": [claim],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata("redis", options, selector),
        "spec": {
            "clusterIP": "None",
            "selector": selector,
            "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}],
        },
    }
    return [service, statefulset]
