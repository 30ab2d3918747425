"""``new-channel``: the package it writes, the names it refuses, the folders it will not touch."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path, PurePosixPath

import pytest
from begasist_core.channelbot.cli import main as channelbot
from begasist_core.scaffold import (
    ScaffoldError,
    channel_names,
    render_channel_package,
    write_channel_package,
)

SMS_FILES = [
    ".github/workflows/ci.yml",
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "src/begasist_channel_sms/__init__.py",
    "src/begasist_channel_sms/channel.py",
    "src/begasist_channel_sms/py.typed",
    "src/begasist_channel_sms/settings.py",
    "src/begasist_channel_sms/webhook.py",
    "tests/test_conformance.py",
]


def written_files(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix() for path in directory.rglob("*") if path.is_file()
    )


def test_every_spelling_of_a_name_with_words() -> None:
    names = channel_names("web_chat")
    assert names.name == "web_chat"
    assert names.distribution == "begasist-channel-web-chat"
    assert names.package == "begasist_channel_web_chat"
    assert names.class_prefix == "WebChat"
    assert names.title == "Web Chat"
    assert names.header_word == "Web-Chat"


def test_the_package_has_every_file_of_a_channel(tmp_path: Path) -> None:
    target = write_channel_package("sms", tmp_path / "sms")
    assert target == tmp_path / "sms"
    assert written_files(target) == SMS_FILES
    assert (target / "src" / "begasist_channel_sms" / "py.typed").read_text() == ""


def test_the_default_folder_is_named_after_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert write_channel_package("web_chat") == Path("begasist-channel-web-chat")
    assert (tmp_path / "begasist-channel-web-chat" / "pyproject.toml").is_file()


def test_the_pyproject_declares_the_entry_point_and_the_kit() -> None:
    pyproject = tomllib.loads(render_channel_package("web_chat")[PurePosixPath("pyproject.toml")])
    project = pyproject["project"]
    assert project["name"] == "begasist-channel-web-chat"
    assert project["entry-points"]["begasist.channels"] == {"web_chat": "begasist_channel_web_chat"}
    assert project["dependencies"][0].startswith("begasist-core>=")
    assert project["optional-dependencies"]["test"][0].startswith("begasist-core[testing]>=")
    assert pyproject["build-system"]["build-backend"] == "hatchling.build"
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["src/begasist_channel_web_chat"]


def test_the_python_files_parse_and_name_the_channel() -> None:
    files = render_channel_package("web_chat")
    for path, text in files.items():
        if path.suffix == ".py":
            ast.parse(text, filename=str(path))
    channel = files[PurePosixPath("src/begasist_channel_web_chat/channel.py")]
    assert "class WebChatChannel(Channel[WebChatSettings]):" in channel
    assert 'name: ClassVar[str] = "web_chat"' in channel
    webhook = files[PurePosixPath("src/begasist_channel_web_chat/webhook.py")]
    assert 'SIGNATURE_HEADER = "x-web-chat-signature"' in webhook


def test_no_template_syntax_is_left_in_the_output() -> None:
    for path, text in render_channel_package("sms").items():
        for marker in ("{{", "{%", "{#"):
            assert marker not in text, f"{path} holds {marker!r}"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "invalid channel name ''"),
        ("Sms", "use a lowercase letter"),
        ("9sms", "use a lowercase letter"),
        ("my-sms", "use a lowercase letter"),
        ("s" * 33, "up to 31"),
        ("sms_", "end it with a letter or a digit"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_is_written(
    name: str, reason: str, tmp_path: Path
) -> None:
    with pytest.raises(ScaffoldError, match=reason):
        write_channel_package(name, tmp_path / "package")
    assert not (tmp_path / "package").exists()


def test_a_folder_with_anything_in_it_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "begasist-channel-sms"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists and is not an empty folder"):
        write_channel_package("sms", target)
    assert written_files(target) == ["notes.txt"]
    assert (target / "notes.txt").read_text() == "mine"


def test_a_file_in_the_way_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "begasist-channel-sms"
    target.write_text("mine")
    with pytest.raises(ScaffoldError, match="already exists"):
        write_channel_package("sms", target)
    assert target.read_text() == "mine"


def test_an_empty_folder_is_filled(tmp_path: Path) -> None:
    target = tmp_path / "begasist-channel-sms"
    target.mkdir()
    write_channel_package("sms", target)
    assert written_files(target) == SMS_FILES


def test_channelbot_new_channel_writes_the_package_and_says_what_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert channelbot(["new-channel", "sms", "--dir", str(tmp_path / "out")]) == 0
    assert written_files(tmp_path / "out") == SMS_FILES
    out = capsys.readouterr().out
    assert "wrote begasist-channel-sms (channel 'sms')" in out
    assert "python -m pytest" in out


def test_the_command_explains_a_refusal_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    assert channelbot(["new-channel", "sms", "--dir", str(tmp_path / "taken")]) == 2
    assert "already exists and is not an empty folder" in capsys.readouterr().err
    assert channelbot(["new-channel", "SMS", "--dir", str(tmp_path / "other")]) == 2
    assert "invalid channel name 'SMS'" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
