"""The generated documents as files: render them, write them, and check a directory for drift."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any, Final

from begasist_core.schema.asyncapi import asyncapi_document
from begasist_core.schema.json_schemas import (
    event_schema,
    event_type_schemas,
    shared_model_schemas,
)

__all__ = [
    "check_schema_documents",
    "render_document",
    "schema_documents",
    "write_schema_documents",
]

_GENERATED_SUFFIXES: Final = frozenset({".json", ".yaml"})


def render_document(document: Any) -> str:
    """The one text form of a generated document: sorted keys, 2-space indent, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_documents() -> dict[str, str]:
    """Every generated document, by its path relative to the output directory (``/``-separated).

    ``event.json`` is the envelope union, ``events/<type>.json`` one event type,
    ``models/<name>.json`` a shared model, ``asyncapi.json`` the AsyncAPI 3.0
    document. The texts depend only on the models: the same code gives the
    same bytes.
    """
    documents: dict[str, Any] = {"event.json": event_schema()}
    for event_type, schema in event_type_schemas().items():
        documents[f"events/{event_type}.json"] = schema
    for stem, schema in shared_model_schemas().items():
        documents[f"models/{stem}.json"] = schema
    documents["asyncapi.json"] = asyncapi_document()
    return {name: render_document(document) for name, document in sorted(documents.items())}


def _stale_files(out_dir: Path, expected: dict[str, str]) -> list[str]:
    # Only the directories the generator writes, and only document suffixes, so
    # that a mistaken --out never makes a check or a write touch unrelated files.
    folders = {PurePosixPath(name).parent for name in expected}
    stale: list[str] = []
    for folder in folders:
        directory = out_dir / folder
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            name = (folder / path.name).as_posix()
            if path.is_file() and path.suffix in _GENERATED_SUFFIXES and name not in expected:
                stale.append(name)
    return stale


def write_schema_documents(out_dir: Path) -> list[Path]:
    """Write every document under *out_dir* and remove stale ones; return the paths written.

    A file whose text is already right is left untouched (and not returned),
    so a regeneration with no model change changes nothing on disk.
    """
    expected = schema_documents()
    for name in _stale_files(out_dir, expected):
        (out_dir / name).unlink()
    written: list[Path] = []
    for name, text in expected.items():
        path = out_dir / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def check_schema_documents(out_dir: Path) -> list[str]:
    """The names of documents under *out_dir* that are missing, different or stale.

    An empty list means the directory is exactly what the models generate.
    """
    expected = schema_documents()
    drifted = [
        name
        for name, text in expected.items()
        if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != text
    ]
    return sorted([*drifted, *_stale_files(out_dir, expected)])
