"""Pieces every generated workload shares: labels, the restricted security context, env."""

from __future__ import annotations

from typing import Any

from begasist_suite.fleet.k8s_options import K8sOptions

__all__ = [
    "APP_USER",
    "MEDIA_CLAIM",
    "REDIS_SECRET",
    "container_security",
    "labels",
    "metadata",
    "pod_security",
    "redis_url_env",
    "secret_env",
]

APP_USER = 10001
"""The images' numeric user (images/*.Dockerfile), so ``runAsNonRoot`` can be checked."""
MEDIA_CLAIM = "media"
"""The ReadWriteMany volume the bots write guests' files to and the suite serves them from."""
REDIS_SECRET = "begasist-redis"
"""Holds BEGASIST_REDIS_URL when Redis is external (its URL may carry a password)."""


def labels(component: str, **extra: str) -> dict[str, str]:
    """The labels that select *component*'s pods: its name, plus *extra* (``begasist.io/...``).

    Selectors are immutable once applied: they hold only what tells pods apart.
    """
    found = {"app.kubernetes.io/name": f"begasist-{component}"}
    found.update({f"begasist.io/{key}": value for key, value in extra.items()})
    return found


def metadata(name: str, options: K8sOptions, object_labels: dict[str, str]) -> dict[str, Any]:
    """An object's ``metadata`` in the fleet's namespace: *object_labels* and the fleet's own."""
    return {
        "name": name,
        "namespace": options.namespace,
        "labels": {
            **object_labels,
            "app.kubernetes.io/part-of": "begasist",
            "app.kubernetes.io/managed-by": "begasist-fleet",
        },
    }


def pod_security(user: int = APP_USER) -> dict[str, Any]:
    """A pod ``securityContext`` that passes the ``restricted`` Pod Security Standard."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    """A container ``securityContext`` for the ``restricted`` standard, read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def secret_env(variable: str, secret: str, key: str) -> dict[str, Any]:
    """An env entry read from *key* of the Secret *secret*."""
    return {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def redis_url_env(options: K8sOptions) -> dict[str, Any]:
    """BEGASIST_REDIS_URL: the in-cluster Service, or the external URL's Secret."""
    if options.external_redis:
        return secret_env("BEGASIST_REDIS_URL", REDIS_SECRET, "BEGASIST_REDIS_URL")
    return {"name": "BEGASIST_REDIS_URL", "value": "redis://redis:6379/0"}
