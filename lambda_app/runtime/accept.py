"""uvloop with asyncio's accept loop: a busy worker still takes in every waiting connection.

Since libuv 1.45 (libuv/libuv#3696) a uvloop server accepts one connection per turn of the
event loop. A worker flooded with requests takes tens of milliseconds a turn, so it accepted
a few dozen connections a second while hundreds waited in the kernel's accept queue, their
requests unread for seconds: the socket timeouts clients saw under load, which no answer the
app gives can reach (the load shedder never saw those requests). asyncio's own servers accept
up to `backlog` connections a turn; this loop does the same, and hands each one to uvloop.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

import uvloop

# Running out of descriptors or kernel memory: accepting again at once would spin.
_RESOURCE_ERRORS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_PAUSE_S = 1.0


class GreedyAcceptLoop(uvloop.Loop):
    """uvloop's event loop, whose plain TCP servers on a given socket accept greedily."""

    async def create_server(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        sock = kwargs.get("sock")
        if (
            args
            or sock is None
            or kwargs.get("ssl") is not None
            or sock.family not in (socket.AF_INET, socket.AF_INET6)
        ):
            return await super().create_server(protocol_factory, *args, **kwargs)
        return GreedyServer(self, protocol_factory, sock, kwargs.get("backlog", 100))


class GreedyServer:
    """The part of asyncio.Server uvicorn uses: close(), wait_closed(), sockets."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, protocol_factory: Any, sock: socket.socket, backlog: int
    ) -> None:
        self._loop, self._factory, self._sock, self._backlog = loop, protocol_factory, sock, backlog
        self._serving = True
        sock.setblocking(False)
        sock.listen(backlog)
        loop.add_reader(sock.fileno(), self._accept)

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return (self._sock,) if self._serving else ()

    def is_serving(self) -> bool:
        return self._serving

    def _accept(self) -> None:
        for _ in range(self._backlog):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as e:
                if e.errno in _RESOURCE_ERRORS:
                    self._loop.remove_reader(self._sock.fileno())
                    self._loop.call_later(_PAUSE_S, self._resume)
                return
            conn.setblocking(False)
            self._loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._factory, conn)
        except OSError:  # the client left before its transport was made
            conn.close()

    def _resume(self) -> None:
        if self._serving:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def close(self) -> None:
        if self._serving:
            self._serving = False
            self._loop.remove_reader(self._sock.fileno())

    async def wait_closed(self) -> None:
        # uvicorn closes the connections itself (its graceful shutdown) before waiting here.
        return None
