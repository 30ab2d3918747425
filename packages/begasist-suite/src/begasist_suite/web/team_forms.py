"""What the Team, Assistant and Operations pages' forms share: the answer after a change,
the role labels, and issuing a secret (a token, an invitation link) once per form."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.exceptions import ValidationException
from litestar.response import Redirect

from begasist_suite.api.idempotency import KEY_PATTERN, Attempt, Idempotency, request_fingerprint
from begasist_suite.auth.principal import HotelAccess
from begasist_suite.store.records import Role
from begasist_suite.web.callers import services_of
from begasist_suite.web.i18n import N_, Language

__all__ = [
    "ATTEMPT_FIELD",
    "ROLE_LABELS",
    "done_message",
    "issue_once",
    "redirect_done",
    "role_choices",
]

ATTEMPT_FIELD: Final = "attempt"
"""A form's hidden field that makes a secret: new on every page, the ``Idempotency-Key`` of
its sending."""
ROLE_LABELS: Final = {
    Role.AGENT: N_("Agent: works the inbox"),
    Role.MANAGER: N_("Manager: also channels, assistant, operations"),
    Role.OWNER: N_("Owner: also the team and bot tokens"),
}


def role_choices(language: Language, up_to: Role = Role.OWNER) -> list[tuple[str, str]]:
    """The roles a form offers (value, label), none above *up_to*."""
    return [
        (role.value, language.gettext(label))
        for role, label in ROLE_LABELS.items()
        if up_to.includes(role)
    ]


def redirect_done(access: HotelAccess, page: str, what: str) -> Redirect:
    """Back to the hotel's *page* (post / redirect / get), saying *what* was done."""
    return Redirect(f"/hotels/{access.hotel.slug}/{page}?done={what}", status_code=303)


def done_message(messages: dict[str, str], what: str | None, language: Language) -> str | None:
    """The page's notice for ``?done=`` (none for a value it does not know)."""
    return None if what not in messages else language.gettext(messages[what])


async def issue_once(
    request: Request[Any, Any, Any],
    access: HotelAccess,
    form: FormMultiDict,
    kind: str,
    issue: Callable[[Attempt], Awaitable[tuple[str, str]]],
) -> dict[str, str]:
    """Make a secret once per sending of its form: what the page shows of it (``kind``,
    ``name``, and ``secret``, empty on a repeat).

    *issue* makes it and answers its name and secret. Through the API's
    ``Idempotency-Key`` handling, keyed by the form's ``attempt`` (a form
    without one makes its secret each time, as a request without the header
    does). The answer recorded for a repeat holds the name, never the secret:
    the repeat shows that it was made, not the secret again.
    """
    key = form.get(ATTEMPT_FIELD)
    if key is not None and (not isinstance(key, str) or re.fullmatch(KEY_PATTERN, key) is None):
        raise ValidationException("malformed form")
    fields = sorted((name, value) for name, value in form.multi_items() if isinstance(value, str))
    once = Idempotency(
        request,
        services_of(request),
        caller=access.user.id,
        key=key,
        fingerprint=request_fingerprint(json.dumps(fields).encode(), ""),
    )
    secrets: list[str] = []

    async def make(attempt: Attempt) -> dict[str, str]:
        name, secret = await issue(attempt)
        secrets.append(secret)
        return {"kind": kind, "name": name}

    answer = await once.run(make)
    shown: dict[str, str] = json.loads(answer.content)
    shown["secret"] = secrets[0] if secrets else ""  # "": a repeat (the page says so)
    return shown
