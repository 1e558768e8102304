"""The live frames' own route: one session's latest snapshot as the component's JSON, no Streamlit rerun.

Each tab registers its runner under a random token (the capability to read that run); the token is only
handed to that tab's component.
"""

from __future__ import annotations

import json
import secrets
import weakref

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.runner import Runner

from .payload import payload

FRAME_ROUTE = "/minimax/frame/{token}"
_runners: weakref.WeakValueDictionary[str, Runner] = weakref.WeakValueDictionary()


def register(runner: Runner) -> str:
    """A token under which this runner's frames can be fetched (one per runner)."""
    for token, known in list(_runners.items()):
        if known is runner:
            return token
    token = secrets.token_urlsafe(16)
    _runners[token] = runner
    return token


def frame_url(token: str) -> str:
    return FRAME_ROUTE.replace("{token}", token)


async def frame_endpoint(request: Request) -> Response:
    """?have=<static key>: the data-set layer is left out when the page already holds that one."""
    runner = _runners.get(request.path_params["token"])
    if runner is None:
        return JSONResponse({"error": "no such run (the tab's session ended)"}, status_code=404)
    snap = runner.snapshot()  # reading counts as watching: a closed tab stops reading, the run idles
    data = payload(snap, include_static=False)
    if request.query_params.get("have") != data["static_key"]:
        data = payload(snap)
    try:
        body = json.dumps(data, allow_nan=False)
    except ValueError as error:  # NaN is not JSON: the page shows this error instead of failing to parse a frame
        return JSONResponse({"error": f"this frame could not be sent: {error}"}, status_code=500)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
