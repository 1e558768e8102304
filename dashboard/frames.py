"""The live frames' own routes: one run's latest snapshot as bytes, its place in line, no Streamlit rerun.

Tokens are capabilities. Each tab registers its runner under an owner's token, handed only to that tab's
component (its frames and its place in the training queue); Share live view adds a watch token, read-only,
for a whole class (dashboard/watch.py). A token lives as long as its run: the session's end revokes both
(`dashboard.session._release`), and a stopped runner's tokens answer 404 and are dropped. Before that, a
closed tab's token went on serving its last frame for as long as anything held the stopped runner (issue 14:
43 of 50 tokens still answered 240 s after the tabs closed, past Streamlit's 120 s session TTL).

A frame is turned into bytes once, however many read it (`FrameBytes`): the owner's tab, a projector, a
hundred students. Compressed once too: Streamlit's gzip middleware compressed every response again (40 KB of
JSON, ~1 ms each at level 6, on the event loop), and passes on a body that says its encoding.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import weakref
from collections import OrderedDict

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.runner import STOPPED, Runner
from core.slots import TrainingSlots

from .payload import payload, static_layer
from .replica import new_token

FRAME_ROUTE = "/minimax/frame/{token}"
QUEUE_ROUTE = "/minimax/queue/{token}"
NO_STORE = {"Cache-Control": "no-store"}
SESSION_ENDED = "the lecturer's session ended (their tab closed, or the server restarted)"
UNSHARED = "the lecturer stopped sharing this run"
RUN_ENDED = "the run ended"
ENDED_KEPT = 4096  # watch tokens whose end is remembered, so an old link says why it stopped (bounded)
GZIP_LEVEL = 1  # a frame: 40 KB -> 25 KB in 0.6 ms (level 6: 24 KB in 0.9 ms), once per frame


class Body:
    """A response body as it is and gzipped, each made once."""

    __slots__ = ("gzipped", "raw")

    def __init__(self, raw: bytes):
        self.raw, self.gzipped = raw, gzip.compress(raw, GZIP_LEVEL, mtime=0)

    def response(self, request: Request, headers: dict[str, str]) -> Response:
        """The gzipped body to a client that accepts it (every browser), else the plain one."""
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers = headers | {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
            return Response(self.gzipped, media_type="application/json", headers=headers)
        return Response(self.raw, media_type="application/json", headers=headers | {"Vary": "Accept-Encoding"})


# weak: a runner nobody else holds is gone from here too, even if its release never ran
_owners: weakref.WeakValueDictionary[str, Runner] = weakref.WeakValueDictionary()
_watchers: weakref.WeakValueDictionary[str, Runner] = weakref.WeakValueDictionary()
_slots: weakref.WeakKeyDictionary[Runner, TrainingSlots] = weakref.WeakKeyDictionary()
_bytes: weakref.WeakKeyDictionary[Runner, FrameBytes] = weakref.WeakKeyDictionary()
_scenes: weakref.WeakKeyDictionary[Runner, dict | None] = weakref.WeakKeyDictionary()
_ended: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()  # script threads register and share, the event loop serves and drops, on_release revokes


class FrameBytes:
    """One run's frames as strict JSON bytes, built once per snapshot: the owner's fetches and every viewer's
    read the same bytes. Frames are numbered; the last KEEP stay, so a viewer told "frame n" a moment ago
    still gets it, and a frame's URL names one body forever (a proxy may cache it)."""

    KEEP = 8

    def __init__(self) -> None:
        self.number = 0
        self.static_key = ""  # a short hash of the data set's layer now: its URL's last part
        self._snap: object = None
        self._lean: OrderedDict[int, Body] = OrderedDict()
        self._full: Body | None = None
        self._payload: dict = {}
        self._static: OrderedDict[str, Body] = OrderedDict()
        self._lock = threading.Lock()

    def update(self, snap) -> int:
        """The number of `snap`'s frame, built if `snap` is new. Raises ValueError for a frame that is not
        strict JSON (payload() guarantees it: that would be a bug, said on the page)."""
        with self._lock:
            if snap is not self._snap:
                data = payload(snap, include_static=False)
                lean = Body(json.dumps(data, allow_nan=False).encode())
                static_key = hashlib.sha256(data["static_key"].encode()).hexdigest()[:16]
                if static_key not in self._static:
                    self._static[static_key] = Body(json.dumps(static_layer(snap), allow_nan=False).encode())
                    while len(self._static) > 2:
                        self._static.popitem(last=False)
                self.number += 1
                self._snap, self._payload, self._full, self.static_key = snap, data, None, static_key
                self._lean[self.number] = lean
                while len(self._lean) > self.KEEP:
                    self._lean.popitem(last=False)
            return self.number

    def held(self, snap) -> int | None:
        """The number of `snap`'s frame if it is already built, else None (no building: a quick look)."""
        with self._lock:
            return self.number if snap is self._snap else None

    async def numbered(self, snap) -> int:
        """`update` for the event loop: a new snapshot's bytes (payload, JSON, gzip: ~20 ms with 16 tabs open)
        are built in a worker thread, so the loop goes on answering (it did not, and a health check waited up to
        a frame's build: issue 18). The requests that find the frame built take no thread."""
        number = self.held(snap)
        return number if number is not None else await run_in_threadpool(self.update, snap)

    def frame(self, number: int) -> Body | None:
        """Frame `number` without the data set's layer, if it is one of the last KEEP."""
        with self._lock:
            return self._lean.get(number)

    def static(self, key: str) -> Body | None:
        with self._lock:
            return self._static.get(key)

    def full(self) -> Body:
        """The current frame with the data set's layer (for a page that does not hold that layer yet)."""
        with self._lock:
            if self._full is None:
                data = self._payload | json.loads(self._static[self.static_key].raw)
                self._full = Body(json.dumps(data, allow_nan=False).encode())
            return self._full

    def holds_static(self, page_key: str) -> bool:
        """Whether a page that says it holds `page_key` (payload's static_key) holds the current layer."""
        with self._lock:
            return page_key == self._payload.get("static_key")


def frame_bytes(runner: Runner) -> FrameBytes:
    with _lock:
        cache = _bytes.get(runner)
        if cache is None:
            cache = _bytes[runner] = FrameBytes()
        return cache


def _token_of(table: weakref.WeakValueDictionary[str, Runner], runner: Runner) -> str | None:
    return next((token for token, known in list(table.items()) if known is runner), None)


def register(runner: Runner, slots: TrainingSlots | None = None) -> str:
    """The owner's token for this runner (one per runner): its frames, and its place in `slots`' line."""
    with _lock:
        if slots is not None:
            _slots[runner] = slots
        token = _token_of(_owners, runner)
        if token is None:
            token = new_token()
            _owners[token] = runner
        return token


def share(runner: Runner) -> str:
    """The run's watch token (made on first call): read-only, for anyone the owner gives the link to."""
    with _lock:
        token = _token_of(_watchers, runner)
        if token is None:
            token = new_token()
            _watchers[token] = runner
        return token


def shared(runner: Runner) -> str | None:
    """The run's watch token, if it is shared."""
    with _lock:
        return _token_of(_watchers, runner)


def _end_watch(token: str, reason: str) -> None:
    del _watchers[token]
    _ended[token] = reason
    while len(_ended) > ENDED_KEPT:
        _ended.popitem(last=False)


def unshare(runner: Runner, reason: str = UNSHARED) -> None:
    """The watch link stops working; its viewers are told `reason`."""
    with _lock:
        for token, known in list(_watchers.items()):
            if known is runner:
                _end_watch(token, reason)


def revoke(runner: Runner) -> None:
    """The runner's session ended: its tokens answer 404 from now on, the watch link saying why."""
    with _lock:
        for token, known in list(_owners.items()):
            if known is runner:
                del _owners[token]
        for token, known in list(_watchers.items()):
            if known is runner:
                _end_watch(token, SESSION_ENDED)


def describe(runner: Runner, scene: dict | None) -> None:
    """What the run's viewers are told to watch (the owner's scene), set by the owner's page on each run."""
    with _lock:
        _scenes[runner] = scene


def scene_of(runner: Runner) -> dict | None:
    with _lock:
        return _scenes.get(runner)


def tokens() -> int:
    """How many tokens answer, owners' and watch links' (for tests and benchmarks/sessions.py)."""
    with _lock:
        return len(_owners) + len(_watchers)


def frame_url(token: str) -> str:
    return FRAME_ROUTE.replace("{token}", token)


def queue_url(token: str) -> str:
    return QUEUE_ROUTE.replace("{token}", token)


def owner(token: str) -> Runner | None:
    """The run an owner's token reads, or None (unknown, revoked, or its run stopped: then dropped)."""
    with _lock:
        runner = _owners.get(token)
        if runner is not None and runner.state == STOPPED:  # a stopped run has no frames to come
            del _owners[token]
            return None
        return runner


def watched(token: str) -> tuple[Runner | None, str]:
    """The run a watch token shows, or None and why not."""
    with _lock:
        runner = _watchers.get(token)
        if runner is not None and runner.state == STOPPED:
            _end_watch(token, RUN_ENDED)
            runner = None
        if runner is None:
            return None, _ended.get(token, "no such live view: the link is wrong, or its run ended long ago")
        return runner, ""


def error(message: str, status: int) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


async def frame_endpoint(request: Request) -> Response:
    """?have=<static key>: the data-set layer is left out when the page already holds that one."""
    runner = owner(request.path_params["token"])
    if runner is None:
        return error("no such run (the tab's session ended)", 404)
    cache = frame_bytes(runner)
    try:
        # reading counts as watching: a closed tab stops reading, and the run idles
        number = await cache.numbered(runner.snapshot())
        lean = cache.holds_static(request.query_params.get("have", ""))
        body = (cache.frame(number) if lean else None) or await run_in_threadpool(cache.full)
    except (TypeError, ValueError) as problem:  # payload() is strict JSON: this is a bug, said on the page
        return error(f"this frame could not be sent: {problem}", 500)
    return body.response(request, NO_STORE)


async def queue_endpoint(request: Request) -> Response:
    """{"place": N}: the run's place in the training queue (0: not waiting), asked again so a freed slot starts
    it. A waiting tab polls this once a second instead of rerunning its script (issue 18)."""
    token = request.path_params["token"]
    runner = owner(token)
    with _lock:
        slots = _slots.get(runner) if runner is not None else None
    if runner is None or slots is None:
        return error("no such run (the tab's session ended)", 404)
    place = slots.position(runner)
    if place:  # only a run still in line: a cancelled one must not start behind its owner's back
        place = slots.request(runner)
    return JSONResponse({"place": place, "state": runner.state}, headers=NO_STORE)
