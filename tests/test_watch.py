"""Watch links, the queue's route and the replica's id (issue 18), through the same Starlette app the server runs:
routes, middleware, status codes, caching headers and bodies, no browser."""

import asyncio
import gzip
import json
import time

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from core.config import TrainConfig
from core.runner import PAUSED, RUNNING, Runner
from core.slots import TrainingSlots
from dashboard import frames, replica
from dashboard.payload import payload
from dashboard.server import LiveRoutes, no_delay_on_listening_sockets
from dashboard.session import _release

SMALL = TrainConfig().replace(hidden=16, depth=1, batch_size=32, eval_samples=300, samples_shown=200, grid_size=40)


def server(replica_id: str = "") -> Starlette:
    """The middleware dashboard/app.py gives Streamlit (the replica's id, then our live routes ahead of the rest),
    around a stand-in for Streamlit's own pages."""

    async def streamlit_page(request):
        return PlainTextResponse("a Streamlit page")

    return Starlette(
        routes=[Route("/", streamlit_page), Route("/minimax/shadowed", streamlit_page)],
        middleware=[Middleware(replica.ReplicaMiddleware, replica=replica_id), Middleware(LiveRoutes)],
    )


def get(app, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET through the ASGI app: status, headers (lowercase names, Set-Cookie kept), body."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()], "http_version": "1.1",
             "scheme": "http", "server": ("test", 80)}  # fmt: skip
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def get_json(app, path: str):
    status, headers, body = get(app, path)
    return status, headers, json.loads(body)


@pytest.fixture
def runner(no_thread_leak):
    r = Runner(SMALL, threads=1)
    yield r
    r.stop()


@pytest.fixture
def app():
    return server()


def test_a_watch_link_is_its_own_read_only_capability(runner, app):
    owner = frames.register(runner)
    token = frames.share(runner)
    assert token != owner and frames.share(runner) == token and frames.shared(runner) == token  # one per run
    assert len(token) == 22 and replica.TOKEN.fullmatch(token)  # secrets.token_urlsafe(16): 128 bits
    # the owner's token is not a watch link, and a watch link reads no owner's route
    assert get(app, f"/minimax/watch/{owner}/now")[0] == 404
    assert get(app, frames.frame_url(token))[0] == 404 and get(app, frames.queue_url(token))[0] == 404


def test_a_viewer_gets_the_runs_frame_by_number_with_the_data_sets_layer(runner, app):
    runner.advance(3, wait=True)
    token = frames.share(runner)
    frames.describe(runner, {"heading": "What to watch: ring8", "watch": "the <b>modes</b>"})
    status, headers, now = get_json(app, f"/minimax/watch/{token}/now")
    assert status == 200 and headers["cache-control"] == "no-store"
    assert now["scene"] == {"heading": "What to watch: ring8", "watch": "the <b>modes</b>"}  # data, drawn as text
    status, headers, frame = get_json(app, f"/minimax/watch/{token}/frame/{now['frame']}")
    assert status == 200 and headers["cache-control"] == "public, max-age=31536000, immutable"
    expected = payload(runner.snapshot(), include_static=False)
    assert frame == json.loads(json.dumps(expected)) and frame["iteration"] == 3 and "p_data" not in frame
    status, headers, layer = get_json(app, f"/minimax/watch/{token}/static/{now['static']}")
    assert status == 200 and "immutable" in headers["cache-control"]
    assert set(layer) == {"p_data", "grid", "modes", "real"} and layer["grid"] == SMALL.grid_size
    runner.advance(2, wait=True)  # a new frame gets a new number; the old one still answers, with the old body
    later = get_json(app, f"/minimax/watch/{token}/now")[2]
    assert later["frame"] > now["frame"] and later["static"] == now["static"]
    assert get_json(app, f"/minimax/watch/{token}/frame/{later['frame']}")[2]["iteration"] == 5
    assert get_json(app, f"/minimax/watch/{token}/frame/{now['frame']}")[2]["iteration"] == 3


def test_bytes_are_built_once_per_frame_however_many_read_it(runner, app, monkeypatch):
    built = []
    real = frames.payload
    monkeypatch.setattr(frames, "payload", lambda snap, **kw: built.append(snap.iteration) or real(snap, **kw))
    runner.advance(2, wait=True)
    token, owner = frames.share(runner), frames.register(runner)
    bodies = set()
    for _ in range(50):  # fifty viewers of one frame, and its owner
        number = get_json(app, f"/minimax/watch/{token}/now")[2]["frame"]
        bodies.add(get(app, f"/minimax/watch/{token}/frame/{number}")[2])
    static_key = get_json(app, frames.frame_url(owner))[2]["static_key"]
    owner_body = get(app, frames.frame_url(owner) + f"?have={static_key}")[2]
    assert len(bodies) == 1 and built == [2]  # one payload for 50 viewers and the owner's two fetches
    assert owner_body == bodies.pop()  # the owner's frame without the layer is the viewers' frame
    runner.advance(1, wait=True)
    get_json(app, f"/minimax/watch/{token}/now")
    assert built == [2, 3]


def test_a_browser_gets_each_frame_gzipped_once_not_per_request(runner, app):
    token, owner = frames.share(runner), frames.register(runner)
    number = get_json(app, f"/minimax/watch/{token}/now")[2]["frame"]
    plain = get(app, f"/minimax/watch/{token}/frame/{number}")
    zipped = [get(app, f"/minimax/watch/{token}/frame/{number}", {"Accept-Encoding": "gzip, br"}) for _ in range(2)]
    assert zipped[0][1]["content-encoding"] == "gzip" and "accept-encoding" in zipped[0][1]["vary"].lower()
    assert gzip.decompress(zipped[0][2]) == plain[2] and zipped[0][2] == zipped[1][2]
    assert len(zipped[0][2]) < 0.8 * len(plain[2])  # base64 arrays and JSON: ~0.6 here
    assert "content-encoding" not in plain[1]  # a client that does not ask gets the plain body
    status, headers, body = get(app, frames.frame_url(owner), {"Accept-Encoding": "gzip"})  # the owner's too
    assert status == 200 and headers["content-encoding"] == "gzip" and json.loads(gzip.decompress(body))["p_data"]


def test_an_old_frame_number_is_gone_not_wrong(runner, app):
    token = frames.share(runner)
    first = get_json(app, f"/minimax/watch/{token}/now")[2]["frame"]
    for _ in range(frames.FrameBytes.KEEP):
        runner.advance(1, wait=True)
        get_json(app, f"/minimax/watch/{token}/now")
    status, _, body = get_json(app, f"/minimax/watch/{token}/frame/{first}")
    assert status == 410 and "ask `now`" in body["error"]
    assert get(app, f"/minimax/watch/{token}/static/0123456789abcdef")[0] == 410
    assert get(app, f"/minimax/watch/{token}/frame/x")[0] == 404  # not a number: no route


@pytest.mark.parametrize(
    "end, said",
    [
        (lambda r: frames.unshare(r), "stopped sharing"),
        (_release, "session ended"),  # what Streamlit calls when the owner's session ends
        (lambda r: r.stop(), "the run ended"),
    ],
    ids=["unshared", "session ended", "run stopped"],
)
def test_the_link_says_why_it_stopped(runner, app, end, said):
    token = frames.share(runner)
    number = get_json(app, f"/minimax/watch/{token}/now")[2]["frame"]
    held = frames.tokens()
    end(runner)
    for path in ("now", f"frame/{number}", "static/abc"):
        status, headers, body = get_json(app, f"/minimax/watch/{token}/{path}")
        assert status == 404 and said in body["error"] and headers["cache-control"] == "no-store", body
    assert frames.shared(runner) is None and frames.tokens() < held
    assert "no such live view" in get_json(app, "/minimax/watch/AAAAAAAAAAAAAAAAAAAAAA/now")[2]["error"]


def test_the_ended_links_memory_is_bounded(monkeypatch, no_thread_leak):
    monkeypatch.setattr(frames, "ENDED_KEPT", 3)
    runners = [Runner(SMALL, threads=1) for _ in range(5)]
    tokens = [frames.share(r) for r in runners]
    for r in runners:
        frames.unshare(r)
    assert len(frames._ended) == 3 and tokens[-1] in frames._ended and tokens[0] not in frames._ended
    for r in runners:
        r.stop()


def test_viewers_do_not_keep_a_run_alive(app, no_thread_leak):
    runner = Runner(SMALL, threads=1, idle_timeout=0.5)
    try:
        token = frames.share(runner)
        runner.start()
        deadline = time.monotonic() + 30
        while runner.state == RUNNING and time.monotonic() < deadline:  # only viewers read: the run idles
            assert get(app, f"/minimax/watch/{token}/now")[0] == 200
            time.sleep(0.05)
        assert runner.state == PAUSED and "nobody watched" in runner.snapshot().message
        frame = get_json(app, f"/minimax/watch/{token}/now")[2]["frame"]
        assert get_json(app, f"/minimax/watch/{token}/frame/{frame}")[2]["state"] == "paused"  # and they see it
    finally:
        runner.stop()


def test_the_page_is_one_static_document_that_runs_only_our_scripts(app):
    status, headers, body = get(app, "/minimax/watch/AAAAAAAAAAAAAAAAAAAAAA")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"] and headers["referrer-policy"] == "no-referrer"
    assert b'src="/minimax/assets/watch.js"' in body and b"AAAA" not in body  # the token is read by the script
    for name, kind in (("live.js", "javascript"), ("watch.js", "javascript"), ("live.css", "css")):
        status, headers, asset = get(app, f"/minimax/assets/{name}")
        assert status == 200 and kind in headers["content-type"] and asset
    assert get(app, "/minimax/assets/../frames.py")[0] == 404 and get(app, "/minimax/assets/app.py")[0] == 404


def test_a_queued_tab_asks_a_tiny_route_and_a_freed_slot_starts_it(app, no_thread_leak):
    slots = TrainingSlots(capacity=1)
    a, b, c = (Runner(SMALL, threads=1) for _ in range(3))
    try:
        tokens = [frames.register(r, slots) for r in (a, b, c)]
        assert slots.request(a) == 0 and slots.request(b) == 1 and slots.request(c) == 2
        status, headers, body = get_json(app, frames.queue_url(tokens[2]))
        assert status == 200 and body == {"place": 2, "state": "idle"} and headers["cache-control"] == "no-store"
        assert len(get(app, frames.queue_url(tokens[2]))[2]) < 40  # tiny: asked once a second per waiting tab
        a.pause(wait=True)
        assert get_json(app, frames.queue_url(tokens[1]))[2] == {"place": 0, "state": "running"}  # started by the ask
        assert b.state == RUNNING and get_json(app, frames.queue_url(tokens[2]))[2]["place"] == 1
        slots.cancel(c)  # its owner pressed Cancel waiting: a late ask must not start it
        b.pause(wait=True)
        assert get_json(app, frames.queue_url(tokens[2]))[2] == {"place": 0, "state": "idle"} and c.state != RUNNING
        assert get(app, frames.queue_url(tokens[0]))[0] == 200 and get(app, "/minimax/queue/nope")[0] == 404
    finally:
        for r in (a, b, c):
            r.stop()


def test_the_replicas_id_travels_in_tokens_headers_and_the_app_cookie(runner, monkeypatch):
    monkeypatch.setattr(replica, "REPLICA", "r2")
    token = frames.share(runner)
    assert token.startswith("r2.") and replica.TOKEN.fullmatch(token) and len(token) == 25
    app = server("r2")
    status, headers, _ = get(app, "/")
    assert headers["x-minimax-replica"] == "r2"
    assert headers["set-cookie"] == "minimax_replica=r2; Path=/; HttpOnly; SameSite=Lax"  # the app's: sticky
    status, headers, _ = get(app, f"/minimax/watch/{token}/now")
    assert status == 200 and headers["x-minimax-replica"] == "r2" and "set-cookie" not in headers  # a route's: not
    assert "x-minimax-replica" not in get(server(), "/")[1]  # one server: nothing said


@pytest.mark.parametrize("value", ["R1", "r1;drop", "-r1", "a" * 41, "r 1", "r1.x"])
def test_a_bad_replica_id_stops_the_server_at_once(value):
    with pytest.raises(SystemExit, match="MINIMAX_REPLICA"):
        replica.replica_id({"MINIMAX_REPLICA": value})
    assert replica.replica_id({"MINIMAX_REPLICA": "minimax-12"}) == "minimax-12"
    assert replica.replica_id({}) == ""


def test_our_routes_answer_before_streamlits_middleware_and_only_under_minimax(app):
    assert get(app, "/")[2] == b"a Streamlit page"  # the rest goes on to Streamlit
    assert get(app, "/minimax/shadowed")[0] == 404  # /minimax/ is ours alone: no Streamlit page behind it


def test_the_listening_socket_gets_tcp_nodelay_and_its_connections_inherit_it():
    """Streamlit 1.67 binds its port with protocol 0, so asyncio leaves Nagle on, and every answer on a kept-alive
    connection waited ~43 ms for the client's delayed ACK (dashboard/server.py)."""
    import socket

    with socket.socket() as listener:  # as Streamlit's _bind_socket makes it
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert no_delay_on_listening_sockets() >= 1
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        with socket.create_connection(listener.getsockname()) as client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                assert client.fileno() >= 0  # the connected ones are not listening: left alone


def test_a_new_frame_is_built_off_the_event_loop(runner, app, monkeypatch):
    """A new snapshot's bytes take ~20 ms to build with a room open: built on the event loop, they held up every
    other request (a health check's p95 was a frame's build). Here the build waits until another request has
    been answered on the same loop: it can only finish if the loop went on while it was built."""
    import threading

    token = frames.register(runner)
    runner.advance(1, wait=True)
    building, answered = threading.Event(), threading.Event()
    built = payload

    def slow_payload(*args, **kwargs):
        building.set()
        answered.wait(10)  # a blocked loop would never answer: this gives up and the test fails below
        return built(*args, **kwargs)

    monkeypatch.setattr(frames, "payload", slow_payload)

    async def call(path, out):
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [], "http_version": "1.1", "scheme": "http", "server": ("test", 80)}  # fmt: skip

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            out.append(message)

        await app(scope, receive, send)

    async def room():
        frame, asset = [], []
        fetching = asyncio.create_task(call(frames.frame_url(token), frame))
        while not building.is_set():  # the frame's build has started
            await asyncio.sleep(0.01)
        await call("/minimax/assets/live.js", asset)
        answered_while_building = not fetching.done()
        answered.set()
        await fetching
        return frame, asset, answered_while_building

    frame, asset, answered_while_building = asyncio.run(room())
    assert answered_while_building
    assert asset[0]["status"] == 200 and frame[0]["status"] == 200
    assert json.loads(b"".join(m.get("body", b"") for m in frame[1:]))["iteration"] == 1
