"""How strong the first platform admin's password must be: it opens every hotel."""

from __future__ import annotations

from typing import Final

from begasist_suite.cli_errors import UsageError

__all__ = ["MIN_ADMIN_PASSWORD_LENGTH", "check_admin_password"]

MIN_ADMIN_PASSWORD_LENGTH: Final = 12

# The few an operator might type on a first run; length already rules out most others.
_KNOWN_WEAK: Final = frozenset(
    {"password1234", "123456789012", "qwertyuiopas", "adminadminadmin", "changeme1234"}
)


def check_admin_password(password: str, email: str) -> None:
    """Raise :class:`UsageError` unless *password* is fit for a platform admin: at least
    12 characters, not one character repeated, not the email or its name part, not a
    well-known one."""
    if not password:
        raise UsageError("the password is empty")
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        raise UsageError(
            f"the password is too weak: a platform admin's needs at least "
            f"{MIN_ADMIN_PASSWORD_LENGTH} characters"
        )
    lowered = password.casefold()
    name = email.casefold().partition("@")[0]
    if (
        len(set(password)) < 4
        or lowered in _KNOWN_WEAK
        or lowered in {email.casefold(), name}
        or (len(name) >= 4 and name in lowered and len(lowered) - len(name) < 6)
    ):
        raise UsageError("the password is too weak: it is easy to guess; choose another")
