"""Throwaway installed distributions, to test plugin discovery without pip."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from begasist_core.hookspecs import ENTRY_POINT_GROUP

__all__ = ["write_distribution"]


def write_distribution(
    directory: Path,
    *,
    name: str,
    entry_points: Mapping[str, str],
    modules: Mapping[str, str] | None = None,
    version: str = "0.0.0",
    group: str = ENTRY_POINT_GROUP,
) -> Path:
    """Write modules and a ``*.dist-info`` for distribution *name* into *directory*.

    With *directory* on ``sys.path`` (``monkeypatch.syspath_prepend``) or on a
    subprocess's ``PYTHONPATH``, ``importlib.metadata`` finds the distribution
    and its *entry_points* (entry name -> module) in *group*, exactly as if
    pip had installed it. *modules* maps a module name to its source. Returns
    *directory*.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for module, source in (modules or {}).items():
        (directory / f"{module}.py").write_text(source, encoding="utf-8")
    dist_info = directory / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{group}]", *(f"{entry} = {target}" for entry, target in entry_points.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory
