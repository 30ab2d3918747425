"""Static checks of compose.yaml: Redis 7 with AOF, the suite, one bot per hotel.

compose.yaml is `begasist fleet compose`'s output for the demo hotels
(tests/suite/fleet checks that); these checks read the checked-in file, and the
Compose Specification check reads generated ones too.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from begasist_core.channelbot.config import BotConfig
from begasist_core.models import validate_hotel_slug
from begasist_suite.fleet.compose import ComposeLayout, compose_document, render_compose
from compose_spec import PyCompose

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE = REPO_ROOT / "compose.yaml"
RESTART_POLICIES = {"always", "unless-stopped", "on-failure"}
# Words PyYAML reads as booleans or null: the subset parser refuses them unquoted.
AMBIGUOUS_SCALARS = {"yes", "no", "on", "off", "y", "n", "null", "~", "True", "False"}


def parse_yaml_subset(text: str) -> Any:
    """compose.yaml without a YAML library: block maps and lists, JSON-style flow values.

    It refuses what it does not understand (anchors, merge keys, block scalars,
    single quotes, ambiguous booleans), so compose.yaml stays in a subset that
    this parser and every YAML parser read the same way.
    """
    lines = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append((len(raw) - len(raw.lstrip(" ")), stripped))
    value, end = _block(lines, 0, 0)
    if end != len(lines):
        raise ValueError(f"unexpected indentation at {lines[end][1]!r}")
    return value


def _block(lines: list[tuple[int, str]], index: int, indent: int) -> tuple[Any, int]:
    if lines[index][1].startswith("- "):
        items = []
        while index < len(lines) and lines[index][0] == indent:
            if not lines[index][1].startswith("- "):
                raise ValueError(f"a map inside a list: {lines[index][1]!r}")
            items.append(_scalar(lines[index][1][2:]))
            index += 1
        return items, index
    mapping: dict[str, Any] = {}
    while index < len(lines) and lines[index][0] == indent:
        key, colon, rest = lines[index][1].partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z0-9_.-]+", key) or key in mapping:
            raise ValueError(f"outside the subset: {lines[index][1]!r}")
        index += 1
        if rest.strip():
            mapping[key] = _scalar(rest.strip())
        elif index < len(lines) and lines[index][0] > indent:
            mapping[key], index = _block(lines, index, lines[index][0])
        else:
            mapping[key] = None
    return mapping, index


def _scalar(text: str) -> Any:
    if text[0] in '["':
        return json.loads(text)
    if text[0] in "&*!|>'{%@`" or " #" in text or text in AMBIGUOUS_SCALARS:
        raise ValueError(f"outside the subset: {text!r}")
    if text in {"true", "false"}:
        return text == "true"
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else text


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = parse_yaml_subset(COMPOSE.read_text(encoding="utf-8"))
    return parsed


def bots(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service["image"].startswith("begasist/channelbot:")
    }


def test_a_yaml_library_reads_it_the_same_way() -> None:
    yaml = pytest.importorskip("yaml")
    text = COMPOSE.read_text(encoding="utf-8")
    assert yaml.safe_load(text) == parse_yaml_subset(text)


def test_the_subset_parser_refuses_what_it_does_not_know() -> None:
    for text in ("a: &anchor\n  b: 1\n", "a:\n  <<: *x\n", "a: yes\n", "a: |\n  text\n"):
        with pytest.raises(ValueError, match=r"subset|indentation"):
            parse_yaml_subset(text)


def test_redis_7_with_aof_and_a_healthcheck(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7-alpine"
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert "redis-cli" in redis["healthcheck"]["test"]
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_every_service_restarts(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("restart") in RESTART_POLICIES, name


def test_images_are_built_from_images_and_tagged_with_the_release(compose: dict[str, Any]) -> None:
    with (REPO_ROOT / "packages/begasist-core/pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        assert (REPO_ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
        assert service["image"].endswith(f":{version}"), name


def test_the_suite(compose: dict[str, Any]) -> None:
    suite = compose["services"]["suite"]
    assert suite["build"]["dockerfile"] == "images/suite.Dockerfile"
    assert suite["command"] == ["serve"]
    assert suite["depends_on"]["redis"]["condition"] == "service_healthy"
    assert suite["environment"]["BEGASIST_REDIS_URL"].startswith("redis://redis:6379")
    assert any(volume.endswith(":/data") for volume in suite["volumes"])
    assert "http://127.0.0.1:8000/ready" in " ".join(suite["healthcheck"]["test"])


def test_one_bot_per_hotel(compose: dict[str, Any]) -> None:
    hotels = []
    for name, bot in bots(compose).items():
        assert bot["build"]["dockerfile"] == "images/channelbot.Dockerfile", name
        flag, hotel = bot["command"]
        assert flag == "--hotel", name
        hotels.append(validate_hotel_slug(hotel))
        assert name == f"bot-{hotel}"
        assert bot["depends_on"]["redis"]["condition"] == "service_healthy"
        # The bot fetches its settings from the suite: it starts once the suite is ready.
        assert bot["depends_on"]["suite"]["condition"] == "service_healthy"
    assert hotels
    assert len(hotels) == len(set(hotels)), "two bots for one hotel"


def test_bots_are_healthy_while_channelbot_health_says_so(compose: dict[str, Any]) -> None:
    for name, bot in bots(compose).items():
        assert bot["healthcheck"]["test"] == ["CMD", "channelbot", "health"], name
        assert bot["environment"]["BEGASIST_BOT_HEALTH_PORT"] == "8081", name


def test_bot_settings_are_ones_the_runtime_reads(compose: dict[str, Any]) -> None:
    # BEGASIST_BOT_HEALTH_PORT: the bot's health port, which issue 14 adds to BotConfig
    # in another branch; drop it from here once that is merged.
    known = {f"BEGASIST_{name.upper()}" for name in BotConfig.model_fields}
    known.add("BEGASIST_BOT_HEALTH_PORT")
    drain = BotConfig().drain_seconds
    for name, bot in bots(compose).items():
        environment = bot["environment"]
        assert set(environment) <= known, name
        assert environment["BEGASIST_REDIS_URL"].startswith("redis://redis:6379")
        assert environment["BEGASIST_SUITE_URL"] == "http://suite:8000"
        # The token comes from the operator's .env, and compose refuses to start without it.
        assert re.fullmatch(
            r"\$\{BEGASIST_BOT_TOKEN_\w+:\?[^}]+\}", environment["BEGASIST_BOT_TOKEN"]
        )
        assert int(bot["stop_grace_period"].removesuffix("s")) > drain, name


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    sources = [
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
    ]
    assert {name for name in sources if not name.startswith((".", "/"))} == set(compose["volumes"])
    for bound in (name for name in sources if name.startswith(".")):
        if bound == "./data":
            continue  # the suite's store: `begasist init` makes it, never in git
        assert (REPO_ROOT / bound).is_file(), f"{bound} is mounted but not in the repository"
    assert "/data/" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_the_suite_is_published_only_through_the_tls_proxy(compose: dict[str, Any]) -> None:
    """Secure cookies need HTTPS: browsers reach the suite through Caddy, never port 8000."""
    suite = compose["services"]["suite"]
    assert "ports" not in suite
    assert suite["environment"]["BEGASIST_PUBLIC_URL"].startswith("https://")
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith("caddy:2")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert {"80:80", "443:443"} <= set(proxy["ports"])


def test_deploy_doc_covers_the_services_and_variables(compose: dict[str, Any]) -> None:
    text = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for name, service in compose["services"].items():
        assert f"`{name}`" in text, f"docs/deploy.md does not mention the {name} service"
        for variable in service.get("environment", {}):
            assert f"`{variable}`" in text, f"docs/deploy.md does not explain {variable}"


def generated(hotels: list[str], *, standby: bool) -> str:
    return render_compose(compose_document(hotels, ComposeLayout(version="0.1.0", standby=standby)))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(COMPOSE.read_text(encoding="utf-8"), id="checked-in"),
        pytest.param(generated(["a", "plaza-del-mar", "z9"], standby=True), id="standby"),
        pytest.param(generated([], standby=False), id="no-hotels"),
    ],
)
def test_it_follows_the_compose_specification(text: str) -> None:
    """A strict parser of the Compose Specification (no Docker needed) reads it: no
    unknown key, every value of the type and form the specification says."""
    parsed = PyCompose.from_yaml(text)
    assert parsed.service_names() == list(yaml_load(text)["services"])


def test_the_parser_used_refuses_what_docker_compose_refuses() -> None:
    base = "services:\n  a:\n    image: x\n"
    for wrong in (
        "    restrat: always\n",
        "    depends_on:\n      b:\n        condition: service_ready\n",
        "    stop_grace_period: soon\n",
        "    healthcheck:\n      test: 5\n",
    ):
        with pytest.raises(ValueError, match=r"."):
            PyCompose.from_yaml(base + wrong)


@pytest.mark.parametrize("standby", [False, True])
def test_services_depend_only_on_services_there(standby: bool) -> None:
    """What the specification parser does not check: references between services."""
    services = yaml_load(generated(["plaza", "sol"], standby=standby))["services"]
    for name, service in services.items():
        for needed, how in service.get("depends_on", {}).items():
            assert needed in services, f"{name} depends on {needed}, which is not there"
            if "healthy" in how["condition"]:
                assert "healthcheck" in services[needed], f"{needed} has no healthcheck"
    expected = {"bot-plaza", "bot-sol"} | (
        {"bot-plaza-standby", "bot-sol-standby"} if standby else set()
    )
    assert {name for name in services if name.startswith("bot-")} == expected


def yaml_load(text: str) -> Any:
    return parse_yaml_subset(text)


def test_the_env_example_lists_every_variable_compose_reads() -> None:
    read = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", example, re.M))
    assert read
    assert read == listed
    assert "/.env" in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").split()
