"""The servers' event loop takes in every connection waiting in the accept queue on its next
turn, where stock uvloop takes one a turn (a worker busy with a flood left hundreds waiting
for seconds)."""

from __future__ import annotations

import asyncio
import socket

import uvloop

from lambda_app.runtime.accept import GreedyAcceptLoop

WAITING = 200


def _accepted_after_turns(loop: asyncio.AbstractEventLoop, turns: int) -> int:
    made: list[asyncio.BaseTransport] = []

    class Counting(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            made.append(transport)

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))

    async def run() -> int:
        server = await loop.create_server(Counting, sock=listener, backlog=1024)
        # Connected by the kernel while the loop is not running: all of them wait to be accepted.
        clients = [socket.create_connection(listener.getsockname()) for _ in range(WAITING)]
        try:
            for _ in range(turns):
                await asyncio.sleep(0)
            return len(made)
        finally:
            server.close()
            for c in clients:
                c.close()
            for t in made:
                t.close()

    try:
        return loop.run_until_complete(run())
    finally:
        listener.close()
        loop.close()


def test_every_waiting_connection_is_accepted_within_a_few_turns() -> None:
    assert _accepted_after_turns(GreedyAcceptLoop(), turns=5) == WAITING


def test_stock_uvloop_accepts_one_a_turn_which_is_why() -> None:
    assert _accepted_after_turns(uvloop.new_event_loop(), turns=5) < WAITING // 4
