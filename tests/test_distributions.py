"""The house rules of the monorepo, read from the source: layout, metadata, who imports whom.

See "Rules of the house" in the design brief: core imports no other package of
this repo, a channel imports only core's public API, the suite finds channels
through entry points and never imports one.
"""

from __future__ import annotations

import ast
import importlib.metadata
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import begasist_core
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
CORE = "begasist_core"
SUITE = "begasist_suite"
CHANNEL_GROUP = "begasist.channels"
MINIMUM_PYTHON = Version("3.11")
# Channel packages that are not in this repo still must not be imported by core or the suite.
CHANNEL_PREFIXES = ("begasist_channels_", "begasist_channel_")


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def distribution_folders() -> list[Path]:
    candidates = [*(REPO / "packages").iterdir(), *(REPO / "docs" / "examples").iterdir()]
    return sorted(
        path for path in candidates if path.is_dir() and not path.name.startswith((".", "_"))
    )


def channel_folders() -> list[Path]:
    """First-party channels and the examples, which stand for third-party channels."""
    return [
        folder
        for folder in distribution_folders()
        if folder.name.startswith("begasist-channels-") or folder.parent.name == "examples"
    ]


@dataclass(frozen=True)
class Distribution:
    folder: Path
    pyproject: dict[str, Any]

    @classmethod
    def load(cls, folder: Path) -> Distribution:
        return cls(folder, tomllib.loads((folder / "pyproject.toml").read_text("utf-8")))

    @property
    def project(self) -> dict[str, Any]:
        project: dict[str, Any] = self.pyproject.get("project", {})
        return project

    @property
    def name(self) -> str:
        return str(self.project.get("name", self.folder.name))

    @property
    def import_name(self) -> str:
        return self.name.replace("-", "_").replace(".", "_").lower()

    @property
    def src(self) -> Path:
        return self.folder / "src"

    def python_files(self) -> list[Path]:
        return sorted((self.src / self.import_name).rglob("*.py"))


def distribution(folder: Path) -> Distribution:
    return Distribution.load(folder)


def repo_import_names() -> set[str]:
    return {distribution(folder).import_name for folder in distribution_folders()}


@dataclass(frozen=True)
class Import:
    """One import statement (or a literal ``import_module`` call) and where it is."""

    path: Path
    line: int
    module: str
    names: tuple[str, ...] = ()

    @property
    def top(self) -> str:
        return self.module.partition(".")[0]

    @property
    def where(self) -> str:
        return f"{shown(self.path)}:{self.line}"


def _literal_import(node: ast.Call) -> str | None:
    """The module of ``importlib.import_module("x")`` or ``__import__("x")``, if literal."""
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    if name not in ("import_module", "__import__") or not node.args:
        return None
    argument = node.args[0]
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    return None


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports_in(path: Path, tree: ast.Module | None = None) -> Iterator[Import]:
    for node in ast.walk(tree or parse(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield Import(path, node.lineno, node.module, tuple(a.name for a in node.names))
        elif isinstance(node, ast.Call) and (module := _literal_import(node)):
            yield Import(path, node.lineno, module)


def is_other_repo_package(top: str, repo_names: set[str], own: str) -> bool:
    return top != own and (top in repo_names or top.startswith(CHANNEL_PREFIXES))


def core_violations(files: Iterable[Path], repo_names: set[str]) -> list[str]:
    return [
        f"{found.where}: begasist_core imports {found.module}; core imports no other "
        "package of this repo"
        for path in files
        for found in imports_in(path)
        if is_other_repo_package(found.top, repo_names | {SUITE}, CORE)
    ]


def suite_violations(files: Iterable[Path], channel_names: set[str]) -> list[str]:
    return [
        f"{found.where}: begasist_suite imports the channel package {found.module}; "
        f"discover channels through the {CHANNEL_GROUP!r} entry points instead"
        for path in files
        for found in imports_in(path)
        if found.top in channel_names or found.top.startswith(CHANNEL_PREFIXES)
    ]


def channel_violations(
    files: Iterable[Path], own: str, repo_names: set[str], public: frozenset[str]
) -> list[str]:
    problems: list[str] = []
    for path in files:
        tree = parse(path)
        for found in imports_in(path, tree):
            if found.top == CORE and found.module != CORE:
                problems.append(
                    f"{found.where}: imports {found.module}; a channel imports only the "
                    "top-level begasist_core (its __all__)"
                )
            elif found.module == CORE:
                problems.extend(
                    f"{found.where}: imports {name} from begasist_core, which is not in "
                    "begasist_core.__all__"
                    for name in found.names
                    if name != "*" and name not in public
                )
            elif is_other_repo_package(found.top, repo_names, own):
                problems.append(
                    f"{found.where}: imports {found.module}; a channel imports no other "
                    "package of this repo than begasist_core"
                )
        core_aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name == CORE
        }
        problems.extend(
            f"{shown(path)}:{node.lineno}: uses begasist_core.{node.attr}, which is not in "
            "begasist_core.__all__"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in core_aliases
            and node.attr not in public
        )
    return problems


# -- discovery sanity: the rules below must have something to check ------------------------


def test_the_known_distributions_are_discovered() -> None:
    folders = {shown(folder) for folder in distribution_folders()}
    assert {
        "packages/begasist-core",
        "packages/begasist-suite",
        "docs/examples/begasist-channel-demo",
    } <= folders
    assert any(folder.startswith("packages/begasist-channels-") for folder in folders)
    assert "docs/examples/begasist-channel-demo" in {shown(f) for f in channel_folders()}


# -- layout and metadata -------------------------------------------------------------------


@pytest.mark.parametrize("folder", distribution_folders(), ids=shown)
def test_distribution_layout(folder: Path) -> None:
    pyproject = folder / "pyproject.toml"
    assert pyproject.is_file(), f"{shown(folder)}: a distribution folder needs a pyproject.toml"
    dist = Distribution.load(folder)
    build = dist.pyproject.get("build-system", {})
    package = dist.src / dist.import_name
    problems = []
    if build.get("build-backend") != "hatchling.build":
        problems.append(f"build-backend is {build.get('build-backend')!r}, not 'hatchling.build'")
    if not any(str(req).startswith("hatchling") for req in build.get("requires", [])):
        problems.append("build-system.requires does not require hatchling")
    if "name" not in dist.project:
        problems.append("[project] has no name")
    if not (package / "__init__.py").is_file():
        problems.append(f"no src layout: {shown(package / '__init__.py')} is missing")
    if not (package / "py.typed").is_file():
        problems.append(f"{shown(package / 'py.typed')} is missing (PEP 561 marker)")
    wheel = dist.pyproject.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
    packages = wheel.get("wheel", {}).get("packages")
    if packages is not None and f"src/{dist.import_name}" not in packages:
        problems.append(f"the wheel packages {packages} do not include src/{dist.import_name}")
    requires_python = SpecifierSet(dist.project.get("requires-python", ""))
    lower_bounds = [
        Version(spec.version) for spec in requires_python if spec.operator in (">=", "~=")
    ]
    if not lower_bounds or max(lower_bounds) < MINIMUM_PYTHON:
        problems.append(f"requires-python {str(requires_python)!r} is not >= {MINIMUM_PYTHON}")
    if not requires_python.contains(str(MINIMUM_PYTHON)):
        problems.append(f"requires-python {str(requires_python)!r} excludes {MINIMUM_PYTHON}")
    assert not problems, f"{shown(pyproject)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("folder", distribution_folders(), ids=shown)
def test_distribution_is_installed_at_its_version(folder: Path) -> None:
    dist = distribution(folder)
    declared = dist.project.get("version")
    assert declared, f"{shown(folder / 'pyproject.toml')}: [project] needs a static version"
    try:
        installed = importlib.metadata.version(dist.name)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            f"{dist.name} ({shown(folder)}) is not installed in the test environment; "
            "is its folder in the hatch-test workspace.members?"
        )
    assert Version(installed) == Version(declared), (
        f"{dist.name}: installed {installed}, but {shown(folder / 'pyproject.toml')} says "
        f"{declared}; the test environment is stale"
    )


# -- who imports whom ----------------------------------------------------------------------


def test_core_imports_no_other_repo_package() -> None:
    core = distribution(REPO / "packages" / "begasist-core")
    files = core.python_files()
    assert files, "no begasist_core sources found"
    problems = core_violations(files, repo_import_names())
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", channel_folders(), ids=shown)
def test_channel_imports_only_cores_public_api(folder: Path) -> None:
    channel = distribution(folder)
    files = channel.python_files()
    assert files, f"no sources under {shown(channel.src / channel.import_name)}"
    public = frozenset(begasist_core.__all__)
    problems = channel_violations(files, channel.import_name, repo_import_names(), public)
    assert not problems, "\n".join(problems)


def test_suite_imports_no_channel_package() -> None:
    suite = distribution(REPO / "packages" / "begasist-suite")
    channel_names = {distribution(folder).import_name for folder in channel_folders()}
    problems = suite_violations(suite.python_files(), channel_names)
    assert not problems, "\n".join(problems)


# -- channel entry points ------------------------------------------------------------------


def declared_channel_entry_points() -> list[tuple[Distribution, str, str]]:
    return [
        (dist, name, value)
        for dist in map(distribution, distribution_folders())
        for name, value in dist.project.get("entry-points", {}).get(CHANNEL_GROUP, {}).items()
    ]


def top_level_names(module: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
    return names


def entry_point_ids() -> list[str]:
    return [f"{dist.name}:{name}" for dist, name, _ in declared_channel_entry_points()]


def test_some_channel_entry_point_is_declared() -> None:
    assert declared_channel_entry_points(), f"no distribution declares a {CHANNEL_GROUP} entry"


@pytest.mark.parametrize(
    ("dist", "name", "value"), declared_channel_entry_points(), ids=entry_point_ids()
)
def test_channel_entry_point_names_a_module_of_its_distribution(
    dist: Distribution, name: str, value: str
) -> None:
    where = f"{shown(dist.folder / 'pyproject.toml')}: [project.entry-points.{CHANNEL_GROUP!r}]"
    module, _, attribute = (part.strip() for part in value.partition(":"))
    base = dist.src.joinpath(*module.split("."))
    source = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
    assert source is not None, (
        f"{where} {name} = {value!r}: no module {module} in {shown(dist.src)} "
        f"(expected {shown(base.with_suffix('.py'))} or {shown(base / '__init__.py')})"
    )
    if attribute:
        top = attribute.partition(".")[0]
        assert top in top_level_names(parse(source)), (
            f"{where} {name} = {value!r}: {shown(source)} defines no {top}"
        )


@pytest.mark.parametrize(
    ("dist", "name", "value"), declared_channel_entry_points(), ids=entry_point_ids()
)
def test_channel_entry_point_is_installed(dist: Distribution, name: str, value: str) -> None:
    installed = {
        (entry.name, entry.value)
        for entry in importlib.metadata.distribution(dist.name).entry_points
        if entry.group == CHANNEL_GROUP
    }
    assert (name, value) in installed, (
        f"{dist.name} declares {CHANNEL_GROUP} {name} = {value!r} but the installed metadata "
        f"has {sorted(installed)}; the test environment is stale"
    )


# -- the checks themselves catch what they are for -----------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "module.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_checks_report_offending_imports_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "import begasist_core\n"
        "from begasist_core import Channel, _private\n"
        "from begasist_core.models.names import HotelSlug\n"
        "import begasist_suite\n"
        "import importlib\n"
        "demo = importlib.import_module('begasist_channel_demo')\n"
        "x = begasist_core.Message, begasist_core.bus\n",
    )
    repo = {CORE, SUITE, "begasist_channel_demo"}
    public = frozenset({"Channel", "Message"})
    assert channel_violations([path], "begasist_channels_sms", repo, public) == [
        f"{path}:2: imports _private from begasist_core, which is not in begasist_core.__all__",
        f"{path}:3: imports begasist_core.models.names; a channel imports only the "
        "top-level begasist_core (its __all__)",
        f"{path}:4: imports begasist_suite; a channel imports no other package of this repo "
        "than begasist_core",
        f"{path}:6: imports begasist_channel_demo; a channel imports no other package of this "
        "repo than begasist_core",
        f"{path}:7: uses begasist_core.bus, which is not in begasist_core.__all__",
    ]
    assert [problem.split(": ")[0] for problem in core_violations([path], repo)] == [
        f"{path}:4",
        f"{path}:6",
    ]
    suite_problems = suite_violations([path], {"begasist_channel_demo"})
    assert [problem.split(": ")[0] for problem in suite_problems] == [f"{path}:6"]
