"""The plugin guide's scaffold walk-through shows what ``new-channel`` really writes.

docs/plugins.md marks a file listing with ``<!-- scaffold-files: NAME -->`` and
each excerpt with ``<!-- scaffold-excerpt: PATH -->`` (for the channel ``sms``)
just before its fenced block: the listing must be the files written, and each
excerpt a verbatim part of its file (dedented as shown), so the guide cannot rot.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
from begasist_core.scaffold import render_channel_package

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"
EXCERPT_CHANNEL = "sms"
_MARKED_BLOCK = re.compile(
    r"^<!-- scaffold-(?P<kind>files|excerpt): (?P<argument>\S+) -->\n```[a-z]*\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
_INDENTS = ("", "    ", "        ")


def marked_blocks(kind: str) -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        (match["argument"], match["body"])
        for match in _MARKED_BLOCK.finditer(text)
        if match["kind"] == kind
    ]


def listed_files(listing: str) -> list[str]:
    """The paths of a tree listing: the first line is the folder, ``#`` starts a comment."""
    lines = listing.splitlines()[1:]
    return [line.partition("#")[0].strip() for line in lines if line.strip()]


def indented(block: str, indent: str) -> str:
    return "\n".join(indent + line if line else line for line in block.split("\n"))


def test_the_guide_marks_a_listing_and_excerpts() -> None:
    assert len(marked_blocks("files")) == 1
    assert len(marked_blocks("excerpt")) >= 5


def block_ids(blocks: list[tuple[str, str]]) -> list[str]:
    return [f"{index}:{argument}" for index, (argument, _) in enumerate(blocks)]


@pytest.mark.parametrize(
    ("name", "listing"), marked_blocks("files"), ids=block_ids(marked_blocks("files"))
)
def test_the_listed_files_are_the_files_written(name: str, listing: str) -> None:
    written = sorted(str(path) for path in render_channel_package(name))
    assert listing.splitlines()[0] == f"begasist-channel-{name}/"
    assert listed_files(listing) == written


@pytest.mark.parametrize(
    ("path", "excerpt"), marked_blocks("excerpt"), ids=block_ids(marked_blocks("excerpt"))
)
def test_each_excerpt_is_part_of_its_file(path: str, excerpt: str) -> None:
    files = render_channel_package(EXCERPT_CHANNEL)
    text = files.get(PurePosixPath(path))
    assert text is not None, f"the scaffold writes no {path} (it writes {sorted(map(str, files))})"
    assert any(indented(excerpt, indent) in text for indent in _INDENTS), (
        f"docs/plugins.md shows an excerpt of {path} that the scaffold does not write:\n{excerpt}"
    )


def test_an_edited_excerpt_is_caught() -> None:
    files = render_channel_package(EXCERPT_CHANNEL)
    (path, excerpt) = marked_blocks("excerpt")[0]
    text = files[PurePosixPath(path)]
    changed = excerpt.replace("begasist", "begasis", 1)
    assert changed != excerpt
    assert not any(indented(changed, indent) in text for indent in _INDENTS)
