"""What our server adds around Streamlit's: the live routes ahead of its middleware, and TCP_NODELAY.

Measured here (benchmarks/watch_room.py, issue 18): a room's viewers make ~1,000 requests a second, and each went
through Streamlit's middleware (path checks, a session cookie, gzip of every body again) before reaching a
route that answers from bytes built once per frame. `LiveRoutes` answers /minimax/... itself.

And every answer on a kept-alive connection waited ~43 ms: Streamlit binds its listening socket itself with
protocol 0, so asyncio's `_set_nodelay` (which requires IPPROTO_TCP) leaves Nagle's algorithm on; the body's
write then waits for the client's delayed ACK of the headers' (0.3 ms with TCP_NODELAY). On Linux an accepted
socket inherits TCP_NODELAY from the listening one, so it is set there, once the port is bound.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from starlette.routing import Route, Router

from . import frames, watch

ROUTES = [
    Route(frames.FRAME_ROUTE, frames.frame_endpoint),
    Route(frames.QUEUE_ROUTE, frames.queue_endpoint),
    *watch.ROUTES,
]


async def not_ours(scope, receive, send) -> None:
    """No route of ours: a 404 here (a Router inside an app would raise it for middleware we run before)."""
    await frames.error("no such route", 404)(scope, receive, send)


class LiveRoutes:
    """ASGI: /minimax/... answered by our routes directly; everything else goes on to Streamlit."""

    def __init__(self, app, routes=ROUTES):
        self.app, self.router = app, Router(routes=routes, default=not_ours)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").startswith("/minimax/"):
            await self.router(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def no_delay_on_listening_sockets() -> int:
    """TCP_NODELAY on every listening TCP socket of this process (Streamlit's port: uvicorn imports the app after
    binding it, so the socket exists when dashboard/app.py runs). Returns how many were set."""
    done = 0
    for entry in Path("/proc/self/fd").iterdir() if Path("/proc/self/fd").is_dir() else ():
        try:
            fd = int(entry.name)
            if not os.readlink(entry).startswith("socket:"):
                continue
            with socket.socket(fileno=os.dup(fd)) as sock:  # a duplicate: closing it leaves the server's open
                if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    done += 1
        except (OSError, ValueError):  # closed meanwhile, or not ours to touch
            continue
    return done
