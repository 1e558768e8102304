"""The live frames' own route: one session's latest snapshot as the component's JSON, no Streamlit rerun.

Each tab registers its runner under a random token (the capability to read that run); the token is only
handed to that tab's component. A token lives as long as its run: the session's end revokes it
(`dashboard.session._release`), and a stopped runner's token answers 404 and is dropped. Before that, a
closed tab's token went on serving its last frame for as long as anything held the stopped runner (issue 14:
43 of 50 tokens still answered 240 s after the tabs closed, past Streamlit's 120 s session TTL).
"""

from __future__ import annotations

import json
import secrets
import threading
import weakref

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.runner import STOPPED, Runner

from .payload import payload

FRAME_ROUTE = "/minimax/frame/{token}"
# weak: a runner nobody else holds is gone from here too, even if its release never ran
_runners: weakref.WeakValueDictionary[str, Runner] = weakref.WeakValueDictionary()
_lock = threading.Lock()  # script threads register, the event loop serves and drops, on_release revokes


def register(runner: Runner) -> str:
    """A token under which this runner's frames can be fetched (one per runner)."""
    with _lock:
        for token, known in list(_runners.items()):
            if known is runner:
                return token
        token = secrets.token_urlsafe(16)
        _runners[token] = runner
        return token


def revoke(runner: Runner) -> None:
    """The runner's token answers 404 from now on (its session ended)."""
    with _lock:
        for token, known in list(_runners.items()):
            if known is runner:
                del _runners[token]


def tokens() -> int:
    """How many tokens answer (for tests and benchmarks/sessions.py)."""
    with _lock:
        return len(_runners)


def frame_url(token: str) -> str:
    return FRAME_ROUTE.replace("{token}", token)


def _lookup(token: str) -> Runner | None:
    with _lock:
        runner = _runners.get(token)
        if runner is not None and runner.state == STOPPED:  # a stopped run has no frames to come
            del _runners[token]
            return None
        return runner


async def frame_endpoint(request: Request) -> Response:
    """?have=<static key>: the data-set layer is left out when the page already holds that one."""
    runner = _lookup(request.path_params["token"])
    if runner is None:
        return JSONResponse({"error": "no such run (the tab's session ended)"}, status_code=404)
    snap = runner.snapshot()  # reading counts as watching: a closed tab stops reading, the run idles
    data = payload(snap, include_static=False)
    if request.query_params.get("have") != data["static_key"]:
        data = payload(snap)
    try:
        body = json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as error:  # payload() is strict JSON: this is a bug, said on the page
        return JSONResponse({"error": f"this frame could not be sent: {error}"}, status_code=500)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
