"""The ``.env`` beside compose.yaml: read it, change some variables, write it back 0600.

Only what docker compose reads is understood: ``KEY=VALUE`` lines, ``#`` comments and
blank lines, values optionally in single or double quotes. Lines this module does not
change are written back as they were, so an operator's own variables and comments stay.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["EnvFile", "EnvFileError"]

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
# Written bare: compose would read `$` as interpolation and `#` after a space as a comment.
_BARE = re.compile(r"^[A-Za-z0-9_.,:/@+=%-]*$")


class EnvFileError(ValueError):
    """A value that cannot be written to a ``.env`` so that compose reads it back intact."""


@dataclass
class EnvFile:
    """The lines of one ``.env`` file, in order; :meth:`write` replaces the file atomically."""

    path: Path
    lines: list[str] = field(default_factory=list)
    existed: bool = False

    @classmethod
    def read(cls, path: Path) -> EnvFile:
        """*path*'s lines, or none (``existed`` False) when there is no such file."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        return cls(path, text.splitlines(), existed=True)

    def get(self, key: str) -> str | None:
        """The value of the last assignment to *key* (compose's rule), unquoted."""
        found = None
        for line in self.lines:
            match = _ASSIGNMENT.match(line)
            if match and match[1] == key:
                found = _unquote(match[2].strip())
        return found

    def names(self) -> list[str]:
        """Every variable assigned, in file order, once each."""
        names = (match[1] for line in self.lines if (match := _ASSIGNMENT.match(line)))
        return list(dict.fromkeys(names))

    def set(self, key: str, value: str, *, comment: str | None = None) -> None:
        """Assign *value* to *key*: its existing line is replaced, else one is appended
        (after *comment*, written as a ``#`` line, when given)."""
        line = f"{key}={_quote(value)}"
        indexes = [i for i, text in enumerate(self.lines) if _assigns(text, key)]
        if indexes:
            self.lines[indexes[-1]] = line
            for index in reversed(indexes[:-1]):
                del self.lines[index]
            return
        if comment is not None:
            self.lines.append(f"# {comment}")
        self.lines.append(line)

    def remove(self, key: str) -> bool:
        """Drop every assignment to *key*; whether there was one."""
        kept = [line for line in self.lines if not _assigns(line, key)]
        removed = len(kept) != len(self.lines)
        self.lines = kept
        return removed

    def write(self) -> None:
        """Replace the file at once (a temporary file renamed over it), readable by its
        owner only (0600): it holds the secret key and the bot tokens."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".env.", dir=self.path.parent)
        try:
            # mkstemp creates the file 0600 already; say so for whoever reads this.
            os.fchmod(descriptor, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write("".join(f"{line}\n" for line in self.lines))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.existed = True


def _assigns(line: str, key: str) -> bool:
    match = _ASSIGNMENT.match(line)
    return match is not None and match[1] == key


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    return value


def _quote(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise EnvFileError("a .env value cannot span lines")
    if _BARE.match(value):
        return value
    if "'" in value:
        raise EnvFileError("a .env value with both a quote and $, # or spaces is not supported")
    return f"'{value}'"  # single quotes: compose takes the value literally, no interpolation
