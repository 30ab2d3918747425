"""Reporting validation errors without echoing values, which may be secrets."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe_validation_error"]


def describe_validation_error(error: ValidationError) -> str:
    """Which fields are wrong and why (``webhook_secret: Field required``), never their values."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or '(settings)'}: {item['msg']}"
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    )
