"""Meta-tests: every hook is documented and tested, and the public names are real.

As datasette does for its hooks: a hook without a docstring, a test or a
section in the plugin guide fails here, and so does a name the guide or the
example channel imports that ``begasist_core`` does not export.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import begasist_core
import begasist_core.testing
import pytest
from begasist_core.plugins.manager import PluginManager

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
DEMO_SOURCE = ROOT / "docs" / "examples" / "begasist-channel-demo" / "src"
TEST_DIRECTORIES = (ROOT / "tests", ROOT / "docs" / "examples")


def hookspec_names() -> list[str]:
    hook = PluginManager(load=frozenset()).hook
    return sorted(
        name
        for name, caller in vars(hook).items()
        if not name.startswith("_") and caller.spec is not None
    )


HOOKS = hookspec_names()


def test_there_are_hooks() -> None:
    assert "begasist_register_channels" in HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_states_its_contract(hook: str) -> None:
    spec = getattr(PluginManager(load=frozenset()).hook, hook).spec
    assert spec is not None
    assert "Contract:" in (spec.function.__doc__ or "")


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    mentions = [
        path
        for directory in TEST_DIRECTORIES
        for path in directory.rglob("test_*.py")
        if path.name != Path(__file__).name and hook in path.read_text(encoding="utf-8")
    ]
    assert mentions, f"no test mentions {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_in_the_plugin_guide(hook: str) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert re.search(rf"^#+ `{hook}`$", guide, re.MULTILINE), f"docs/plugins.md: ### `{hook}`"


@pytest.mark.parametrize(
    ("module", "name"),
    [(begasist_core, name) for name in begasist_core.__all__]
    + [(begasist_core.testing, name) for name in begasist_core.testing.__all__],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_every_public_name_resolves(module: object, name: str) -> None:
    assert getattr(module, name, None) is not None


def imported_names(source: str, module: str) -> set[str]:
    """Names ``from <module> import ...`` brings in, anywhere in *source*."""
    return {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module == module
        for alias in node.names
    }


def guide_code_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.parametrize(
    "module", [begasist_core, begasist_core.testing], ids=["begasist_core", "testing"]
)
def test_the_guide_imports_only_exported_names(module: object) -> None:
    name = getattr(module, "__name__", "")
    exported = set(getattr(module, "__all__", ()))
    for block in guide_code_blocks():  # each must also be valid Python
        assert imported_names(block, name) <= exported


def test_the_example_channel_uses_only_the_public_api() -> None:
    exported = set(begasist_core.__all__)
    for path in DEMO_SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("begasist_core"):
                assert node.module == "begasist_core", f"{path.name} imports {node.module}"
                assert {alias.name for alias in node.names} <= exported, path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("begasist_core.") for a in node.names), path.name
