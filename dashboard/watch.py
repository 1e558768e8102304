"""Watch links: one run, the whole class (issue 18). Read-only, no Streamlit session, no training slot.

`/minimax/watch/<token>` is a plain page (no Streamlit: a viewer costs HTTP requests, not a script run and a
websocket) that mounts the board's own component (dashboard/components/live.js, in watch mode) without
controls. It polls `now` for the number of the latest frame, then fetches that frame by its number: a frame's
URL names one body forever, so it is sent with `immutable` caching headers and a reverse proxy in front
(deploy/nginx) can serve one frame to a room from one request. Bodies are built once per frame
(`frames.FrameBytes`), whoever asks first. Reading does not count as watching: the run idles (and the link
says so) when its owner's tab stops fetching, and the owner's session's end ends the link.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import frames

WATCH_ROUTE = "/minimax/watch/{token}"
ASSETS = Path(__file__).parent / "components"
# the page's scripts and styles, read once; the page loads nothing else
_ASSETS = {name: (ASSETS / name).read_bytes() for name in ("live.js", "live.css", "watch.js", "watch.css")}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    # the page runs only its own scripts and talks only to this server; the token in its URL goes nowhere
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Minimax - live view</title>
<link rel="stylesheet" href="/minimax/assets/live.css"><link rel="stylesheet" href="/minimax/assets/watch.css">
</head><body><header class="mm-watch-header"><strong>Minimax</strong> <span>live view, read-only</span></header>
<main id="minimax-watch"></main><script type="module" src="/minimax/assets/watch.js"></script></body></html>
"""


def watch_url(token: str) -> str:
    return WATCH_ROUTE.replace("{token}", token)


async def page_endpoint(request: Request) -> Response:
    """The same page for every token: its script reads the token from the address (an ended or wrong link is
    told so by `now`)."""
    return Response(PAGE, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


async def now_endpoint(request: Request) -> Response:
    """{"frame": n, "static": key, "scene": ...}: the latest frame's number, the data-set layer it goes with,
    and what the owner's scene says to watch. Never cached: this is the one request per poll that must reach
    the run's server."""
    runner, why = frames.watched(request.path_params["token"])
    if runner is None:
        return frames.error(f"this live view is over: {why}", 404)
    cache = frames.frame_bytes(runner)
    try:
        number = await cache.numbered(runner.snapshot(touch=False))  # viewers keep no run alive: its owner does
    except (TypeError, ValueError) as problem:
        return frames.error(f"this frame could not be sent: {problem}", 500)
    body = {"frame": number, "static": cache.static_key, "scene": frames.scene_of(runner)}
    return JSONResponse(body, headers=frames.NO_STORE)


def _immutable(request: Request, body: frames.Body | None, what: str) -> Response:
    if body is None:  # an old number (more than FrameBytes.KEEP frames ago) or another data set's layer
        return frames.error(f"{what} is no longer kept: ask `now` for the latest", 410)
    return body.response(request, IMMUTABLE)


async def frame_endpoint(request: Request) -> Response:
    runner, why = frames.watched(request.path_params["token"])
    if runner is None:
        return frames.error(f"this live view is over: {why}", 404)
    return _immutable(request, frames.frame_bytes(runner).frame(request.path_params["number"]), "this frame")


async def static_endpoint(request: Request) -> Response:
    runner, why = frames.watched(request.path_params["token"])
    if runner is None:
        return frames.error(f"this live view is over: {why}", 404)
    return _immutable(request, frames.frame_bytes(runner).static(request.path_params["key"]), "this data set's layer")


async def asset_endpoint(request: Request) -> Response:
    name = request.path_params["name"]
    body = _ASSETS.get(name)
    if body is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(body, media_type=_TYPES[Path(name).suffix], headers={"Cache-Control": "public, max-age=300"})


ROUTES = [
    Route(WATCH_ROUTE, page_endpoint),
    Route(WATCH_ROUTE + "/now", now_endpoint),
    Route(WATCH_ROUTE + "/frame/{number:int}", frame_endpoint),
    Route(WATCH_ROUTE + "/static/{key}", static_endpoint),
    Route("/minimax/assets/{name}", asset_endpoint),
]
