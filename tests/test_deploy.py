"""deploy/: the nginx routing of N replicas, checked with a real nginx in front of two stand-in replicas, and
the Compose, Kubernetes and Docker files checked for the properties the routing relies on.

No image is built and no container runs here: Docker has no daemon on this machine and `docker compose` is
not installed, so the Compose and Docker files are checked as text and YAML (against drift from
requirements.txt and from minimax.conf's contract). `nginx` (Debian's, /usr/sbin/nginx) and `kubectl`
(`kubectl kustomize` renders offline) are used when present and the tests that need them skipped otherwise.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.nginx_front import check_conf, loopback_replicas, nginx_available, nginx_front, write_conf

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
GONE = "this run's server is gone (its replica stopped or was scaled away)"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

needs_nginx = pytest.mark.skipif(not nginx_available(), reason="nginx is not installed (apt-get install nginx)")
needs_kubectl = pytest.mark.skipif(not Path(KUBECTL).is_file(), reason="kubectl is not installed")


def token(replica: str) -> str:
    return f"{replica}.{secrets.token_urlsafe(16)}"  # dashboard/replica.py's form: <id>.<22 url-safe chars>


# --- stand-in replicas: what dashboard/replica.py's middleware and dashboard/watch.py's headers say ---


class Backend:
    """An HTTP server on a free loopback port answering as replica `name`: its header on every response, its
    cookie outside /minimax/, watch frames `immutable` and `now` `no-store`; the body echoes the request; a
    websocket's upgrade opens a tunnel that answers in capitals. Counts the requests per path."""

    def __init__(self, name: str):
        self.name = name
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.connections: list[socket.socket] = []  # nginx keeps them open (keepalive): a stop must end them too
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with backend.lock:
                    backend.connections.append(self.connection)

            def do_GET(self) -> None:
                with backend.lock:
                    backend.hits[self.path] += 1
                if self.headers.get("Upgrade") == "websocket":
                    self.tunnel()
                    return
                if self.path.endswith("/frame/99"):  # a frame that takes a while to build
                    time.sleep(0.3)
                status = 404 if self.path.endswith("/missing") else 200  # the replica's own 404 (an ended run)
                body = json.dumps(
                    {
                        "replica": backend.name,
                        "path": self.path,
                        "host": self.headers.get("Host"),
                        "upgrade": self.headers.get("Upgrade"),
                        "connection": self.headers.get("Connection"),
                    }
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Minimax-Replica", backend.name)
                if not self.path.startswith("/minimax/"):
                    self.send_header("Set-Cookie", f"minimax_replica={backend.name}; Path=/; HttpOnly; SameSite=Lax")
                if status == 200 and re.fullmatch(r"/minimax/watch/[^/]+/(frame/\d+|static/[^/]+)", self.path):
                    self.send_header("Cache-Control", "public, max-age=31536000, immutable")
                elif self.path.startswith("/minimax/"):
                    self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def tunnel(self) -> None:
                """A websocket's handshake, then an echo of whatever comes (enough to see nginx's tunnel)."""
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("X-Minimax-Replica", backend.name)
                self.end_headers()
                self.wfile.flush()
                while data := self.connection.recv(4096):
                    self.connection.sendall(data.upper())
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name=f"backend-{name}", daemon=True
        )
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.server.shutdown()
            self.server.server_close()
            with self.lock:
                for connection in self.connections:  # as a replica's exit does
                    with contextlib.suppress(OSError):
                        connection.shutdown(socket.SHUT_RDWR)
            self.thread.join(5)
            assert not self.thread.is_alive()


@pytest.fixture
def front() -> Iterator[tuple[int, dict[str, Backend]]]:
    """nginx on deploy/nginx/minimax.conf in front of replicas r1 and r2; yields (nginx's port, backends)."""
    if not nginx_available():
        pytest.skip("nginx is not installed (apt-get install nginx)")
    backends = {name: Backend(name) for name in ("r1", "r2")}
    try:
        with nginx_front({name: b.port for name, b in backends.items()}) as port:
            yield port, backends
    finally:
        for backend in backends.values():
            backend.stop()


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy of the environment


def get(port: int, path: str, replica_cookie: str | None = None) -> tuple[int, Message, bytes]:
    headers = {"Cookie": f"minimax_replica={replica_cookie}"} if replica_cookie else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def replica_of(port: int, path: str, replica_cookie: str | None = None) -> str:
    status, headers, body = get(port, path, replica_cookie)
    assert status == 200, (path, status, body)
    assert json.loads(body)["path"] == path  # nginx passes the URI on unchanged
    return headers["X-Minimax-Replica"]


def assert_gone(port: int, path: str, replica_cookie: str | None = None) -> None:
    status, headers, body = get(port, path, replica_cookie)
    assert status == 404, (path, status, body)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": GONE}


# --- the routing, end to end ---


def test_a_new_session_goes_round_robin_and_its_cookie_keeps_it(front):
    port, _ = front
    first = [replica_of(port, "/") for _ in range(4)]
    assert set(first) == {"r1", "r2"}
    status, headers, _ = get(port, "/")
    assert status == 200 and headers["Set-Cookie"].startswith("minimax_replica=")  # the replica's cookie passes
    for replica in ("r1", "r2"):
        paths = ["/", "/_stcore/stream", "/_stcore/upload_file/abc/def", "/media/abc.png", "/_stcore/health"]
        assert {replica_of(port, path, replica) for path in paths * 2} == {replica}


def test_a_cookie_that_names_no_replica_is_a_new_session(front):
    """Only ids the map knows route anywhere: anything else a client sends goes round robin."""
    port, _ = front
    for cookie in ("zz", "127.0.0.1:22", "minimax_r1", "r1.example.com"):
        assert {replica_of(port, "/", cookie) for _ in range(4)} == {"r1", "r2"}


def test_the_websocket_upgrade_and_the_host_reach_the_replica(front):
    port, _ = front
    seen = json.loads(get(port, "/_stcore/health")[2])
    assert seen["host"] == f"127.0.0.1:{port}"  # with the port: Streamlit compares the websocket's Origin with it
    assert seen["upgrade"] is None and seen["connection"] is None  # no upgrade asked: a kept-alive connection
    for replica in ("r1", "r2"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                b"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Cookie: minimax_replica=" + replica.encode() + b"\r\n\r\n"
            )
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                assert chunk, head
                head += chunk
            assert head.startswith(b"HTTP/1.1 101 "), head
            assert f"X-Minimax-Replica: {replica}".encode() in head
            for message in (b"hello", b"again"):  # both ways, more than once: a tunnel, not one answer
                client.sendall(message)
                assert client.recv(4096) == message.upper()


@pytest.mark.parametrize("replica", ["r1", "r2"])
def test_a_token_reaches_its_replica_whatever_the_cookie(front, replica):
    port, _ = front
    other = {"r1": "r2", "r2": "r1"}[replica]
    run = token(replica)
    for path in (f"/minimax/frame/{run}", f"/minimax/queue/{run}", f"/minimax/watch/{run}"):
        for cookie in (None, other):
            assert {replica_of(port, path, cookie) for _ in range(3)} == {replica}
    for tail in ("now", "frame/3", "static/abc123"):
        assert replica_of(port, f"/minimax/watch/{run}/{tail}", other) == replica


def test_assets_come_from_any_replica(front):
    port, _ = front
    assert {replica_of(port, "/minimax/assets/live.js", "r1") for _ in range(4)} == {"r1", "r2"}


def test_a_token_of_an_unknown_replica_is_gone(front):
    port, backends = front
    for run in (token("zz"), token("r3"), token("minimax-0")):
        for path in (f"/minimax/frame/{run}", f"/minimax/queue/{run}", f"/minimax/watch/{run}"):
            assert_gone(port, path, "r1")
        assert_gone(port, f"/minimax/watch/{run}/now")
        assert_gone(port, f"/minimax/watch/{run}/frame/1")
    assert not any(path.startswith("/minimax/") for b in backends.values() for path in b.hits)


def test_a_malformed_token_goes_to_a_replica_not_to_a_host_it_names(front):
    """Not of the token's form: no replica id is read from it, any replica answers (its own 404 in the app)."""
    port, _ = front
    for path in ("/minimax/frame/127.0.0.1:22.abc", "/minimax/frame/r1.short", "/minimax/watch/R1.x/now"):
        assert replica_of(port, path) in {"r1", "r2"}


def test_watch_frames_are_cached_and_now_is_not(front):
    port, backends = front
    run = token("r2")
    frame, static, now = (f"/minimax/watch/{run}/{tail}" for tail in ("frame/1", "static/k1", "now"))
    statuses = [get(port, frame)[1]["X-Cache-Status"] for _ in range(20)]
    assert statuses[0] == "MISS" and set(statuses[1:]) == {"HIT"}
    assert backends["r2"].hits[frame] == 1  # 20 viewers, one request to the replica
    for _ in range(5):
        assert replica_of(port, static) == "r2"
    assert backends["r2"].hits[static] == 1
    assert replica_of(port, f"/minimax/watch/{run}/frame/2") == "r2"  # another frame is another body
    for _ in range(5):
        assert replica_of(port, now) == "r2"
    assert backends["r2"].hits[now] == 5  # no-store: every poll reaches the replica
    assert backends["r1"].hits.total() == 0


def test_the_replicas_own_answers_pass_unchanged(front):
    """Only nginx's own failures become "gone": a replica's 404 (a run that ended) is its own."""
    port, _ = front
    run = token("r1")
    for path in (f"/minimax/frame/{run}/missing", f"/minimax/watch/{run}/missing", "/minimax/assets/missing"):
        status, headers, body = get(port, path)
        assert status == 404 and json.loads(body)["path"] == path
        assert headers["X-Minimax-Replica"] in {"r1", "r2"}


def test_a_stopped_replica_is_gone_for_its_tokens_and_its_sessions_move(front):
    port, backends = front
    run = token("r2")
    assert replica_of(port, f"/minimax/frame/{run}") == "r2"
    backends["r2"].stop()
    for path in (f"/minimax/frame/{run}", f"/minimax/queue/{run}", f"/minimax/watch/{run}/frame/1"):
        assert_gone(port, path, "r2")
    for path in ("/", "/_stcore/stream", "/media/x.png"):  # the session's replica is down: another takes over
        assert replica_of(port, path, "r2") == "r1"
    status, headers, _ = get(port, "/", "r2")
    assert status == 200 and headers["Set-Cookie"].startswith("minimax_replica=r1;")  # and the cookie moves
    assert {replica_of(port, "/") for _ in range(4)} == {"r1"}  # new sessions too


# --- the configuration of each deployment passes `nginx -t` ---


def compose_replicas_for_loopback(text: str) -> str:
    """deploy/compose/replicas.conf with its hostnames (which resolve only inside Compose) as loopback ports."""
    return re.sub(r"\bminimax-(\d+):8501\b", lambda m: f"127.0.0.1:{18500 + int(m[1])}", text)


def k8s_replicas_for_loopback(text: str) -> str:
    """deploy/k8s/replicas.conf with the cluster's names (kube-dns, the Service) as loopback addresses."""
    text = text.replace("resolver kube-dns.kube-system.svc.cluster.local", "resolver 127.0.0.1")
    return text.replace("server minimax:8501", "server 127.0.0.1:18500")


REPLICAS_CONFS = {
    "loopback": lambda: loopback_replicas({"r1": 18501, "r2": 18502, "minimax-7": 18503}),
    "compose": lambda: compose_replicas_for_loopback((DEPLOY / "compose" / "replicas.conf").read_text()),
    "k8s": lambda: k8s_replicas_for_loopback((DEPLOY / "k8s" / "replicas.conf").read_text()),
}


@needs_nginx
@pytest.mark.parametrize("deployment", sorted(REPLICAS_CONFS))
def test_nginx_accepts_the_configuration(tmp_path, deployment):
    replicas_conf = REPLICAS_CONFS[deployment]()
    listen = (DEPLOY / "nginx" / "listen.conf").read_text().replace("listen 8080;", "listen 127.0.0.1:18499;")
    write_conf(tmp_path, replicas_conf, "127.0.0.1:18499")
    (tmp_path / "minimax" / "listen.conf").write_text(listen)  # the deployments' own listen.conf, on loopback
    result = check_conf(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_k8s_router_resolves_pod_names_and_only_the_statefulsets():
    text = (DEPLOY / "k8s" / "replicas.conf").read_text()
    assert re.search(r"^resolver kube-dns\.kube-system\.svc\.cluster\.local ", text, re.M)
    (pattern,) = re.findall(r'"~\^\(\?<minimax_pod>([^)]*)\)\$"', text)
    assert pattern == "minimax-[0-9]{1,3}"
    assert '"$minimax_pod.minimax-pods.minimax.svc.cluster.local:8501"' in text
    assert re.search(r'default\s+"";', text)


def test_the_compose_replicas_are_the_ones_nginx_knows():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    ids = {name: s["environment"]["MINIMAX_REPLICA"] for name, s in services.items() if name != "nginx"}
    text = (DEPLOY / "compose" / "replicas.conf").read_text()
    any_block = re.search(r"upstream minimax_any \{(.*?)\}", text, re.S)
    assert any_block is not None
    assert set(re.findall(r"server (minimax-\d+):8501", any_block[1])) == set(ids)
    groups = dict(re.findall(r"upstream (\w+) \{ server (minimax-\d+):8501; keepalive \d+; \}", text))
    mapped = dict(re.findall(r"^\s+(r\d+)\s+(\w+);", text, re.M))
    assert {replica: groups[group] for replica, group in mapped.items()} == {v: k for k, v in ids.items()}


# --- Compose, Docker, Kubernetes: what the routing relies on ---


def test_compose_runs_two_replicas_of_one_definition_behind_nginx():
    yaml = pytest.importorskip("yaml")
    text = (DEPLOY / "compose.yaml").read_text()
    services = yaml.safe_load(text)["services"]
    assert len(re.findall(r"^    <<: \*minimax$", text, re.M)) == 2  # both replicas from the anchor
    one, two = services["minimax-1"], services["minimax-2"]
    assert one["environment"].pop("MINIMAX_REPLICA") == "r1"
    assert two["environment"].pop("MINIMAX_REPLICA") == "r2"
    assert one == two
    assert one["cpus"] == 2 and one["environment"]["MINIMAX_CPUS"] == "2"
    assert one["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    nginx = services["nginx"]
    assert nginx["ports"] == ["8080:8080"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in nginx["volumes"]}
    assert mounts == {
        "/etc/nginx/conf.d/default.conf": "./nginx/minimax.conf",
        "/etc/nginx/minimax/listen.conf": "./nginx/listen.conf",
        "/etc/nginx/minimax/replicas.conf": "./compose/replicas.conf",
    }
    for source in mounts.values():
        assert (DEPLOY / source).is_file()
    assert "listen 8080;" in (DEPLOY / "nginx" / "listen.conf").read_text()


def test_the_image_pins_requirements_torch_and_runs_as_a_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (pinned,) = re.findall(r"^torch==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert re.findall(r"whl/cpu torch==(\S+)", dockerfile) == [pinned]
    assert set(re.findall(r"torch==([0-9.]*[0-9])", dockerfile)) == {pinned}
    assert "--index-url https://download.pytorch.org/whl/cpu" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    (user,) = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user not in {"root", "0"}
    assert user == "10001"  # deploy/k8s/minimax.yaml's runAsUser
    assert re.findall(r"^COPY (\S+)", dockerfile, re.M) == ["requirements.txt", "core/", "dashboard/", ".streamlit/"]
    assert "/_stcore/health" in dockerfile and "EXPOSE 8501" in dockerfile
    assert (
        'CMD ["streamlit", "run", "dashboard/app.py", "--server.port", "8501", "--server.address", "0.0.0.0", '
        '"--server.headless", "true"]' in dockerfile
    )
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*") :][:5] == ["*", "!core/", "!dashboard/", "!.streamlit/", "!requirements.txt"]


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict]:
    """`kubectl kustomize deploy/k8s`, by (kind, name)."""
    if not Path(KUBECTL).is_file():
        pytest.skip("kubectl is not installed")
    yaml = pytest.importorskip("yaml")
    result = subprocess.run([KUBECTL, "kustomize", str(DEPLOY / "k8s")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all(result.stdout) if doc}


@needs_kubectl
def test_k8s_replicas_are_a_statefulset_named_by_their_pods(k8s):
    sts = k8s["StatefulSet", "minimax"]
    assert sts["metadata"]["namespace"] == "minimax"
    assert sts["spec"]["serviceName"] == "minimax-pods"
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert "replicas" not in sts["spec"]  # the autoscaler's
    pod = sts["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("valueFrom") for e in container["env"]}
    assert env["MINIMAX_REPLICA"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["MINIMAX_CPUS"] == {
        "resourceFieldRef": {"containerName": container["name"], "resource": "limits.cpu", "divisor": "1"}
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["ports"][0]["containerPort"] == 8501
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health"
    headless = k8s["Service", "minimax-pods"]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    labels = sts["spec"]["template"]["metadata"]["labels"]
    for name in ("minimax-pods", "minimax"):
        assert k8s["Service", name]["spec"]["selector"].items() <= labels.items()
    # pod names are what the router's map accepts, up to the autoscaler's maximum
    hpa = k8s["HorizontalPodAutoscaler", "minimax"]
    assert re.fullmatch(r"minimax-[0-9]{1,3}", f"minimax-{hpa['spec']['maxReplicas'] - 1}")


@needs_kubectl
def test_k8s_autoscaler_scales_the_statefulset_by_cpu(k8s):
    spec = k8s["HorizontalPodAutoscaler", "minimax"]["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "minimax"}
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    assert spec["minReplicas"] >= 2
    assert k8s["PodDisruptionBudget", "minimax"]["spec"]["maxUnavailable"] == 1


@needs_kubectl
def test_k8s_ingress_keeps_sessions_and_sends_tokens_to_the_router(k8s):
    ingress = k8s["Ingress", "minimax"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"]
    assert notes["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    (rule,) = ingress["spec"]["rules"]
    paths = {p["path"]: (p["pathType"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]}
    assert paths == {"/": ("Prefix", "minimax"), "/minimax/": ("Prefix", "minimax-router")}


@needs_kubectl
def test_k8s_router_runs_the_shared_nginx_files(k8s):
    maps = {name.rsplit("-", 1)[0]: doc for (kind, name), doc in k8s.items() if kind == "ConfigMap"}
    assert maps["minimax-nginx"]["data"]["minimax.conf"] == (DEPLOY / "nginx" / "minimax.conf").read_text()
    assert maps["minimax-nginx"]["data"]["listen.conf"] == (DEPLOY / "nginx" / "listen.conf").read_text()
    assert maps["minimax-replicas"]["data"]["replicas.conf"] == (DEPLOY / "k8s" / "replicas.conf").read_text()
    router = k8s["Deployment", "minimax-router"]["spec"]["template"]["spec"]
    assert router["securityContext"]["runAsNonRoot"] is True
    volumes = {v["name"]: v for v in router["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in router["containers"][0]["volumeMounts"]}
    assert volumes[mounts["/etc/nginx/conf.d"]]["configMap"]["name"] == maps["minimax-nginx"]["metadata"]["name"]
    projected = volumes[mounts["/etc/nginx/minimax"]]["projected"]["sources"]
    files = {item["path"]: source["configMap"]["name"] for source in projected for item in source["configMap"]["items"]}
    assert files == {
        "listen.conf": maps["minimax-nginx"]["metadata"]["name"],
        "replicas.conf": maps["minimax-replicas"]["metadata"]["name"],
    }
    assert "/etc/nginx/minimax-cache" in mounts  # minimax.conf's proxy_cache_path under the image's prefix
    assert "proxy_cache_path minimax-cache " in (DEPLOY / "nginx" / "minimax.conf").read_text()
