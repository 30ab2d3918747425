"""Validation errors said in the person's language, next to the field they are about.

The plugin's model reports errors as pydantic does: a location, an English
message and a type. The type is what is translated; a type we do not know
shows the model's own message, so nothing is ever hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from begasist_suite.web.i18n import N_, Language

__all__ = ["FieldErrors", "field_errors", "message_of"]

FieldErrors = dict[str, list[str]]
"""Field name -> its messages; ``""`` holds those about the form as a whole."""

MESSAGES: Final = {
    "missing": N_("This field is required."),
    "string_too_short": N_("Too short."),
    "string_too_long": N_("Too long."),
    "string_pattern_mismatch": N_("Not in the expected format."),
    "string_type": N_("Enter text."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "greater_than": N_("Too small."),
    "greater_than_equal": N_("Too small."),
    "less_than": N_("Too large."),
    "less_than_equal": N_("Too large."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "bool_parsing": N_("Choose yes or no."),
    "url_parsing": N_("Enter a full web address, such as https://example.com."),
    "url_scheme": N_("Enter a full web address, such as https://example.com."),
    "too_short": N_("Add at least one."),
    "too_long": N_("Too many entries."),
    "json_invalid": N_("Not valid JSON."),
    "extra_forbidden": N_("This setting is not known."),
    "secret_required": N_(
        "The setting that decides where this secret is sent changed: type the secret again."
    ),
    "secret_undecryptable": N_(
        "The stored secret cannot be read with this server's key: type it again."
    ),
    "route_key_taken": N_(
        "Another hotel's settings already use this number or account: a number belongs "
        "to one hotel. Ask the platform operator."
    ),
    "intent_taken": N_("Another entry has this intent."),
    "no_answer": N_("Write the answer in at least one language."),
    "unknown_time_zone": N_("Not a time zone: choose one of the list, such as Europe/Madrid."),
}


def message_of(error: Mapping[str, Any], language: Language) -> str:
    """One error's message in *language*."""
    known = MESSAGES.get(str(error.get("type")))
    if known is not None:
        return language.gettext(known)
    detail = str(error.get("msg", "")).removeprefix("Value error, ")
    return language.gettext("Not accepted: %(reason)s") % {"reason": detail}


def field_errors(
    errors: Iterable[Mapping[str, Any]], fields: Iterable[str], language: Language
) -> FieldErrors:
    """*errors* grouped by the field (of *fields*) their location starts with; the others
    under ``""``."""
    names = set(fields)
    grouped: FieldErrors = {}
    for error in errors:
        location = list(error.get("loc") or ())
        name = str(location[0]) if location and str(location[0]) in names else ""
        message = message_of(error, language)
        if message not in grouped.setdefault(name, []):
            grouped[name].append(message)
    return grouped
