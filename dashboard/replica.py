"""Which replica this server is, said where a load balancer can route by it (deploy/, docs/scaling.md).

A Streamlit session lives on the process that holds its websocket, and a run's frames, queue place and watch
link only on the process that trains it. With MINIMAX_REPLICA set, this process's id travels two ways:
- in every capability token (`<id>.<secret>`), so `/minimax/...` routes reach the run's replica from any
  browser, a student's opening a watch link included;
- in a `minimax_replica` cookie on the app's responses, so the session's websocket, uploads and downloads
  stay on the replica that holds it.
Unset (one server), tokens are bare secrets and no cookie is sent.
"""

from __future__ import annotations

import os
import re
import secrets

REPLICA_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
COOKIE = "minimax_replica"
HEADER = b"x-minimax-replica"
TOKEN = re.compile(r"(?:[a-z0-9][a-z0-9-]{0,39}\.)?[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16): 22 chars


def replica_id(environ=os.environ) -> str:
    """MINIMAX_REPLICA, checked: an id nginx's routing accepts (deploy/nginx/minimax.conf), or ''."""
    value = environ.get("MINIMAX_REPLICA", "").strip()
    if value and not REPLICA_ID.fullmatch(value):
        raise SystemExit(
            f"MINIMAX_REPLICA={value[:40]!r} is not a replica id: lowercase letters, digits and '-', at most 40"
        )
    return value


REPLICA = replica_id()


def new_token() -> str:
    """A 128-bit capability, prefixed with this replica's id when there are replicas."""
    secret = secrets.token_urlsafe(16)
    return f"{REPLICA}.{secret}" if REPLICA else secret


class ReplicaMiddleware:
    """ASGI: every HTTP response says which replica answered; the app's (not /minimax/'s) also sets the
    cookie that keeps the session's later requests on this replica."""

    def __init__(self, app, replica: str = REPLICA):
        self.app, self.replica = app, replica.encode()
        self.cookie = f"{COOKIE}={replica}; Path=/; HttpOnly; SameSite=Lax".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.replica:
            await self.app(scope, receive, send)
            return
        sticky = not scope.get("path", "").startswith("/minimax/")

        async def said(message):
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (HEADER, self.replica)]
                if sticky:
                    headers.append((b"set-cookie", self.cookie))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, said)
