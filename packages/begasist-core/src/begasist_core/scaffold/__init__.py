"""``new-channel``: write a new, installable channel package from the templates beside this module.

The package it writes registers one ``Channel`` subclass through a
``begasist.channels`` entry point, passes the conformance kit as it stands,
and is the starting point the plugin guide (docs/plugins.md) walks through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import jinja2

from begasist_core import __version__
from begasist_core.models.names import InvalidName, validate_channel_name

__all__ = [
    "DISTRIBUTION_PREFIX",
    "ChannelNames",
    "ScaffoldError",
    "channel_names",
    "render_channel_package",
    "write_channel_package",
]

DISTRIBUTION_PREFIX: Final = "begasist-channel-"
"""Third-party channel distributions are named ``begasist-channel-<name>``."""

_TEMPLATE_SUFFIX: Final = ".jinja"
_PACKAGE_PLACEHOLDER: Final = "package"
"""The template folder ``src/package`` is written as ``src/<import name>``."""
_DOT_PREFIX: Final = "dot-"
"""A template path part ``dot-x`` is written as ``.x`` (dotfiles stay visible in the wheel)."""


class ScaffoldError(ValueError):
    """The channel package cannot be written: a bad name, or the folder is taken."""


@dataclass(frozen=True, slots=True)
class ChannelNames:
    """Every spelling of a new channel's name the templates need."""

    name: str
    """The channel's name, also its entry-point name: ``web_chat``."""
    distribution: str
    """``begasist-channel-web-chat``."""
    package: str
    """The import name: ``begasist_channel_web_chat``."""
    class_prefix: str
    """``WebChat``: the classes are ``WebChatChannel`` and ``WebChatSettings``."""
    title: str
    """``Web Chat``, for prose."""
    header_word: str
    """``Web-Chat``, for the signature header ``X-Web-Chat-Signature``."""


def channel_names(name: str) -> ChannelNames:
    """The spellings of *name*; :class:`ScaffoldError` if it cannot name a channel package."""
    try:
        validate_channel_name(name)
    except InvalidName as invalid:
        raise ScaffoldError(str(invalid)) from None
    if name.endswith("_"):
        # A distribution name ends with a letter or a digit (PEP 508).
        raise ScaffoldError(
            f"invalid channel name {name!r} for a package: end it with a letter or a digit"
        )
    words = [word for word in name.split("_") if word]
    return ChannelNames(
        name=name,
        distribution=DISTRIBUTION_PREFIX + name.replace("_", "-"),
        package="begasist_channel_" + name,
        class_prefix="".join(word.capitalize() for word in words),
        title=" ".join(word.capitalize() for word in words),
        header_word="-".join(word.capitalize() for word in words),
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("begasist_core.scaffold", "template"),
        # The output is Python, TOML, YAML and Markdown, never HTML: nothing to escape.
        autoescape=False,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def _output_part(part: str, names: ChannelNames) -> str:
    if part == _PACKAGE_PLACEHOLDER:
        return names.package
    if part.startswith(_DOT_PREFIX):
        return "." + part.removeprefix(_DOT_PREFIX)
    return part


def _output_path(template: str, names: ChannelNames) -> PurePosixPath:
    parts = PurePosixPath(template.removesuffix(_TEMPLATE_SUFFIX)).parts
    return PurePosixPath(*(_output_part(part, names) for part in parts))


def _core_requirement() -> str:
    """``>=major.minor`` of the running core: what the package is written against."""
    match = re.match(r"\d+\.\d+", __version__)
    return f">={match.group(0) if match else __version__}"


def render_channel_package(name: str) -> Mapping[PurePosixPath, str]:
    """The files of channel *name*'s package: relative path -> text, sorted by path."""
    names = channel_names(name)
    environment = _environment()
    context = {"names": names, "core_requirement": _core_requirement()}
    rendered = {
        _output_path(template, names): environment.get_template(template).render(context)
        for template in environment.list_templates(extensions=[_TEMPLATE_SUFFIX[1:]])
    }
    return dict(sorted(rendered.items()))


def write_channel_package(name: str, directory: Path | None = None) -> Path:
    """Write channel *name*'s package into *directory*, which must be absent or empty.

    The default *directory* is ``begasist-channel-<name>`` in the working
    directory. Returns the directory. Nothing is written when the name is bad
    or the directory holds anything.
    """
    names = channel_names(name)
    target = directory if directory is not None else Path(names.distribution)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(
            f"{target} already exists and is not an empty folder: "
            "choose another --dir, or remove it first"
        )
    files = render_channel_package(name)
    for relative, text in files.items():
        path = target.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
