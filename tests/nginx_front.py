"""A real nginx in front of local replicas, routed by deploy/nginx/minimax.conf, for the deploy and browser tests.

`nginx_front({"r1": 8601, "r2": 8602})` writes the loopback deployment's replicas.conf (127.0.0.1 ports instead
of Compose's hostnames or Kubernetes' pod names), starts Debian's nginx in the foreground on a free loopback
port, yields that port once it accepts connections and always stops it. The app's websocket passes through
like any other request (minimax.conf's `location /`).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINIMAX_CONF = ROOT / "deploy" / "nginx" / "minimax.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REPLICA_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")  # dashboard/replica.py's, which minimax.conf's routes accept


def nginx_available() -> bool:
    return Path(NGINX).is_file() and os.access(NGINX, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main_conf(directory: Path) -> str:
    """nginx.conf for a throwaway prefix: every file nginx writes stays in `directory`."""
    # as root, the workers would run as nobody, who cannot enter a private temporary directory; as anyone else
    # the directive is ignored with a warning
    user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};\n"
    return (
        user
        + f"""worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {MINIMAX_CONF};
}}
"""
    )


def loopback_replicas(replicas: dict[str, int]) -> str:
    """The loopback deployment's replicas.conf: deploy/compose/replicas.conf's shape, with 127.0.0.1 ports."""
    if not replicas:
        raise ValueError("at least one replica")
    bad = [name for name in replicas if not REPLICA_ID.fullmatch(name)]
    if bad:
        raise ValueError(f"not replica ids: {bad}")
    lines = ["upstream minimax_any {", "    zone minimax_any 64k;"]
    lines += [f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in replicas.values()]
    lines += ["    keepalive 16;", "}"]
    lines += [
        f"upstream minimax_loopback_{i} {{ server 127.0.0.1:{port}; keepalive 16; }}"
        for i, port in enumerate(replicas.values())
    ]
    lines += ["map $minimax_id $minimax_replica {", '    default "";']
    lines += [f'    "{name}" minimax_loopback_{i};' for i, name in enumerate(replicas)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_conf(directory: Path, replicas_conf: str, listen: str) -> Path:
    """nginx.conf, minimax/replicas.conf and minimax/listen.conf in `directory`; returns nginx.conf's path."""
    (directory / "minimax").mkdir(parents=True, exist_ok=True)
    (directory / "minimax" / "replicas.conf").write_text(replicas_conf)
    (directory / "minimax" / "listen.conf").write_text(f"listen {listen};\n")
    conf = directory / "nginx.conf"
    conf.write_text(main_conf(directory))
    return conf


def nginx_command(directory: Path, *args: str) -> list[str]:
    # -e: the log of startup errors, before nginx.conf's error_log applies (else /var/log/nginx/error.log)
    return [
        NGINX,
        "-p",
        f"{directory}/",
        "-c",
        str(directory / "nginx.conf"),
        "-e",
        str(directory / "error.log"),
        *args,
    ]


def check_conf(directory: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the configuration in `directory` (write_conf's)."""
    return subprocess.run(nginx_command(directory, "-t"), capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def nginx_front(replicas: dict[str, int], start_timeout: float = 15.0) -> Iterator[int]:
    """nginx routing to `replicas` ({replica id: its port on 127.0.0.1}); yields nginx's port."""
    with tempfile.TemporaryDirectory(prefix="minimax-nginx-") as name:
        directory = Path(name)
        port = free_port()
        write_conf(directory, loopback_replicas(replicas), f"127.0.0.1:{port}")
        process = subprocess.Popen(
            nginx_command(directory, "-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (directory / "error.log").read_text() if (directory / "error.log").exists() else ""
                    raise RuntimeError(f"nginx did not start (exit {process.poll()}):\n{log[-2000:]}")
                time.sleep(0.05)
            yield port
        finally:
            process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
