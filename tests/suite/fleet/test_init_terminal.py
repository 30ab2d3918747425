"""``begasist init`` on a terminal: it asks for the admin's email and password (getpass)."""

from __future__ import annotations

import json
import os
import pty
from pathlib import Path

from tests.suite.fleet.conftest import ADMIN, ADMIN_PASSWORD, BEGASIST, Begasist, on_store
from tests.suite.test_cli import clean_environment


class Terminal:
    """A ``begasist`` process whose controlling terminal is a pseudo-terminal we type on."""

    def __init__(self, directory: Path, *arguments: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: its terminal is the pty, as an operator's shell gives it
            try:
                os.chdir(directory)
                os.execve(BEGASIST, [str(BEGASIST), *arguments], clean_environment())
            finally:
                os._exit(127)  # never go on as a copy of the test run
        self.pid, self.fd, self.seen = pid, fd, ""

    def expect(self, prompt: str) -> None:
        """Read until *prompt* shows (the test's timeout bounds the wait)."""
        while prompt not in self.seen:
            chunk = os.read(self.fd, 1024)
            assert chunk, f"the terminal closed before {prompt!r}: {self.seen}"
            self.seen += chunk.decode("utf-8", "replace")

    def type(self, line: str) -> None:
        os.write(self.fd, line.encode("utf-8") + b"\n")

    def wait(self) -> int:
        while True:
            try:
                chunk = os.read(self.fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            self.seen += chunk.decode("utf-8", "replace")
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


def test_init_asks_the_email_and_the_password_twice_without_echo(
    begasist: Begasist, tmp_path: Path
) -> None:
    terminal = Terminal(tmp_path, "init")
    terminal.expect("email of the first platform admin: ")
    terminal.type(ADMIN)
    terminal.expect("the admin's password: ")
    terminal.type(ADMIN_PASSWORD)
    terminal.expect("again: ")
    terminal.type(ADMIN_PASSWORD)
    assert terminal.wait() == 0, terminal.seen
    assert ADMIN_PASSWORD not in terminal.seen, "getpass does not echo the password"
    assert f"platform admin: created {ADMIN}" in terminal.seen
    users = json.loads(on_store(begasist, "users", "list", "--json"))
    assert [u["email"] for u in users] == [ADMIN]


def test_two_different_passwords_are_refused(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path, "init", "--admin-email", ADMIN)
    terminal.expect("the admin's password: ")
    terminal.type(ADMIN_PASSWORD)
    terminal.expect("again: ")
    terminal.type(ADMIN_PASSWORD + "!")
    assert terminal.wait() == 2
    assert "the two passwords differ" in terminal.seen
    assert not (tmp_path / "data").exists()
