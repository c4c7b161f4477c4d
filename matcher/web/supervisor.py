"""The supervisor of ``matcher serve --workers N``: uvicorn's, with a listening socket per worker.

uvicorn's own supervisor binds one socket and hands it to every worker; whichever worker's event
loop is in accept() when a burst of connections arrives takes all of it, so one core can end up
with nearly every keep-alive connection. On Linux each worker here binds a socket of its own on
the same address with SO_REUSEPORT, and the kernel spreads new connections over the workers' sockets
(a hash of the client's address and port). The parent holds the port with a socket that is bound
but never listens: a port in use fails before any worker starts, and no connection waits on it.
A worker's socket listens only once its app has loaded, and closes with the worker, so a worker
that is starting, or was killed, is given no connections; the others take them.

Elsewhere (no SO_REUSEPORT, or not Linux, where it does not balance) it is uvicorn's supervisor
over one shared socket, as before.
"""

from __future__ import annotations

import logging
import socket
import sys

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors import multiprocess

logger = logging.getLogger("uvicorn.error")

REUSE_PORT = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family=_family(host))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def reserve_port(host: str, port: int) -> socket.socket:
    """The parent's socket on host:port (port 0: a free one), bound with SO_REUSEPORT and never
    listening. A first bind without SO_REUSEPORT fails if anything listens there, another server's
    workers included (they would otherwise share the port with this one's)."""
    probe = _bind(host, port, reuse_port=False)
    port = probe.getsockname()[1]
    probe.close()
    return _bind(host, port, reuse_port=True)


class ReusePortProcess(multiprocess.Process):
    """A worker that binds its own SO_REUSEPORT socket (uvicorn listens on it once the app has loaded)."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover (in the worker)
        try:
            sock = _bind(self.config.host, self.config.port, reuse_port=True)
        except OSError as exc:
            logger.error(exc)
            sys.exit(STARTUP_FAILURE)
        sock.set_inheritable(True)
        super().target([sock])


def run_workers(config: Config) -> None:
    """uvicorn.run for ``config.workers`` > 1: its supervisor (a dead worker replaced, SIGINT/SIGTERM
    a graceful stop, SIGHUP a rolling restart) with a socket per worker where the kernel balances them."""
    if not REUSE_PORT:
        sock = config.bind_socket()
        try:
            multiprocess.Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
        return
    try:
        held = reserve_port(config.host, config.port)
    except OSError as exc:
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    config.port = held.getsockname()[1]
    logger.info(
        "Uvicorn running on http://%s:%d, a socket per worker (SO_REUSEPORT) (Press CTRL+C to quit)",
        config.host, config.port,
    )  # fmt: skip
    # uvicorn's supervisor makes its workers with the module's Process (in four places): the worker
    # class is swapped for this run only.
    shared = multiprocess.Process
    multiprocess.Process = ReusePortProcess  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        multiprocess.Process = shared  # type: ignore[misc]
        held.close()
