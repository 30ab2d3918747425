"""A throwaway Dovecot IMAP server for the email tests, trusted through a trustme CA.

One server per session (:class:`DovecotServer`), a fresh account per test
(:meth:`DovecotServer.new_account`), and :class:`Mailbox` to act on an
account as another mail client would (append, flags, UIDVALIDITY, kicks).
"""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import trustme

__all__ = ["Account", "DovecotServer", "DovecotUnavailable", "Mailbox", "dovecot_binary"]

READY_SECONDS: Final = 15.0
STOP_SECONDS: Final = 10.0
SERVER_ADDRESSES: Final = ("127.0.0.2", "127.0.0.1")
"""Where the server listens, by preference. Dovecot counts a client whose address
is the server's own as secured and lets it log in without TLS; on 127.0.0.2 the
client comes from 127.0.0.1, so a login before STARTTLS is refused, as over a network.
"""
ACCOUNTS: Final = 500
"""Accounts the server knows: one per test that asks for one."""


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed, or it would not start (the message holds its log)."""


def dovecot_binary() -> str | None:
    """The ``dovecot`` executable, or None when it is not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None
    )


@dataclass(frozen=True, slots=True)
class Account:
    """A mail account on the test server."""

    user: str
    password: str


def _account(number: int) -> Account:
    return Account(f"guest{number}@hotel.test", f"password-{number}")


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _server_address() -> str:
    for address in SERVER_ADDRESSES:
        try:
            _free_port(address)
        except OSError:
            continue
        return address
    raise DovecotUnavailable("no loopback address to listen on")


def _mail_owner() -> pwd.struct_passwd:
    """Who owns the mail: us, or (as root, which Dovecot refuses for mail) ``dovecot``."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    return pwd.getpwnam("dovecot")


def _privilege_settings() -> str:
    # As root, Dovecot drops privileges to the users the Debian package creates;
    # as anyone else, every process runs as that user (a rootless install).
    if os.geteuid() == 0:
        internal, login = "dovecot", "dovenull"
    else:
        internal = login = pwd.getpwuid(os.geteuid()).pw_name
    return f"default_internal_user = {internal}\ndefault_login_user = {login}\n"


_TLS_SETTINGS = """\
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
# Logging in needs TLS: on the plain listener, only after STARTTLS.
disable_plaintext_auth = yes
"""

_NO_TLS_SETTINGS = """\
ssl = no
disable_plaintext_auth = no
"""

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = {host}
{privilege_settings}\
{ssl_settings}auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {plain_port}
  }}
  inet_listener imaps {{
    port = {tls_listener_port}
    ssl = yes
  }}
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
"""


class DovecotServer:
    """Dovecot as a child process on free local ports, with its config in a temporary folder.

    ``tls_port`` speaks TLS from the first byte; ``plain_port`` offers STARTTLS
    and refuses logins before it. ``ca_pem`` is the CA a client must trust.
    ``tls=False`` makes a server without any TLS: no STARTTLS, no ``tls_port``.
    """

    def __init__(self, *, tls: bool = True) -> None:
        self.tls = tls
        binary = dovecot_binary()
        if binary is None:
            raise DovecotUnavailable("dovecot is not installed (apt-get install dovecot-imapd)")
        self._binary = binary
        self._doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        self.root = Path(tempfile.mkdtemp(prefix="begasist-dovecot-"))
        # Dovecot's unprivileged processes must reach their files in here.
        self.root.chmod(0o755)
        self.host = _server_address()
        """The address clients connect to; the certificate names it."""
        self.plain_port = _free_port(self.host)
        self.tls_port = _free_port(self.host)
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self._ca = trustme.CA()
        self.ca_pem = self._ca.cert_pem.bytes().decode()
        self._process: subprocess.Popen[bytes] | None = None
        self._accounts = itertools.count()

    def __enter__(self) -> DovecotServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        owner = _mail_owner()
        leaf = self._ca.issue_cert(self.host, "localhost")
        leaf.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        leaf.private_key_pem.write_to_path(str(self.root / "key.pem"))
        # Every account exists from the start: a passwd-file edited within the
        # second it was read may not be re-read.
        (self.root / "passwd").write_text(
            "".join(f"{a.user}:{{PLAIN}}{a.password}\n" for a in map(_account, range(ACCOUNTS)))
        )
        (self.root / "passwd").chmod(0o644)
        for folder in ("mail", "home"):
            (self.root / folder).mkdir()
            os.chown(self.root / folder, owner.pw_uid, owner.pw_gid)
        self.config_path.write_text(
            _CONFIG.format(
                root=self.root,
                host=self.host,
                privilege_settings=_privilege_settings(),
                uid=owner.pw_uid,
                gid=owner.pw_gid,
                plain_port=self.plain_port,
                tls_listener_port=self.tls_port if self.tls else 0,
                ssl_settings=(_TLS_SETTINGS if self.tls else _NO_TLS_SETTINGS).format(
                    root=self.root
                ),
            )
        )
        with (self.root / "stderr.log").open("wb") as stderr:
            self._process = subprocess.Popen(
                [self._binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise DovecotUnavailable(f"dovecot exited at start:\n{self.logs()}")
            ports = (self.plain_port, self.tls_port) if self.tls else (self.plain_port,)
            if all(self._greets(port) for port in ports):
                return
            time.sleep(0.05)
        raise DovecotUnavailable(f"dovecot did not answer in {READY_SECONDS} s:\n{self.logs()}")

    def _greets(self, port: int) -> bool:
        try:
            with socket.create_connection((self.host, port), timeout=1.0) as connection:
                if port == self.tls_port:
                    with self.client_ssl_context().wrap_socket(
                        connection, server_hostname=self.host
                    ) as tls:
                        return tls.recv(64).startswith(b"* OK")
                return connection.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM, wait, then kill; the temporary folder goes too."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_SECONDS)
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        """Dovecot's own log and its stderr, for a failing test's report."""
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    @property
    def login_needs_tls(self) -> bool:
        """A login before STARTTLS is refused (not on 127.0.0.1: Dovecot trusts it)."""
        return self.tls and self.host != "127.0.0.1"

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts the test CA."""
        context = ssl.create_default_context(cadata=self.ca_pem)
        return context

    def new_account(self) -> Account:
        """An account no one has used yet: its mailbox is empty."""
        number = next(self._accounts)
        if number >= ACCOUNTS:
            raise RuntimeError(f"the test server has only {ACCOUNTS} accounts")
        return _account(number)

    def doveadm(self, *args: str) -> str:
        """Run ``doveadm`` against this server; its output."""
        done = subprocess.run(
            [self._doveadm, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}"
            )
        return done.stdout

    def kick(self, account: Account) -> None:
        """Drop every connection of *account* (the server closes them mid-command)."""
        self.doveadm("kick", account.user)

    def login_count(self, account: Account, *, failed: bool) -> int:
        """How many logins of *account* the log shows, failed or successful ones."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        needle = f"user=<{account.user}>"
        return sum(
            1
            for line in text.splitlines()
            if "imap-login:" in line
            and needle in line
            and (("Login:" not in line) if failed else ("Login:" in line))
            and ("auth failed" in line or not failed)
        )


class Mailbox:
    """Another mail client on one account: stdlib ``imaplib`` over verified TLS."""

    def __init__(self, server: DovecotServer, account: Account, folder: str = "INBOX") -> None:
        self._server = server
        self._account = account
        self.folder = folder

    def _connect(self) -> imaplib.IMAP4_SSL:
        client = imaplib.IMAP4_SSL(
            self._server.host,
            self._server.tls_port,
            ssl_context=self._server.client_ssl_context(),
            timeout=30,
        )
        try:
            client.login(self._account.user, self._account.password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, raw: bytes) -> None:
        """Append *raw* to the folder, unflagged, as a delivery would."""
        client = self._connect()
        try:
            status, answer = client.append(self.folder, "", None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND failed: {answer!r}")
        finally:
            client.logout()

    def flags(self) -> dict[int, set[str]]:
        """Each message's flags by UID."""
        client = self._connect()
        try:
            client.select(self.folder, readonly=True)
            _, lines = client.uid("FETCH", "1:*", "(FLAGS)")
            found: dict[int, set[str]] = {}
            for line in lines:
                if not isinstance(line, bytes):
                    continue
                text = line.decode()
                uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (", 1)[1].split(")", 1)[0]
                found[uid] = set(flags.split())
            return found
        finally:
            client.logout()

    def uidvalidity(self) -> int:
        client = self._connect()
        try:
            _, answer = client.status(self.folder, "(UIDVALIDITY)")
            text = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
            return int(text.split("UIDVALIDITY ", 1)[1].split(")")[0])
        finally:
            client.logout()

    def change_uidvalidity(self) -> int:
        """Give the folder a new UIDVALIDITY, as a restored or rebuilt mailbox has; the new one."""
        new = self.uidvalidity() + 1000
        self._server.doveadm(
            "mailbox", "update", "-u", self._account.user, "--uid-validity", str(new), self.folder
        )
        return new
