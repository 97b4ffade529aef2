#!/usr/bin/env python3
"""The load benchmark: wrk against a release todo-server and a private Redis.

Started by `scripts/bench` (or `just bench`), which builds the release binary
first. Phases, each against the same server and Redis:

- ceiling: GET /healthz, no token, no store;
- readyz: GET /readyz, no token, one store round trip (PING): a second
  reference, with the store's share of a request and none of the token's;
- todo: POST /todo with a Bearer token, through the whole middleware, once
  with the local revocation cache off and once with it on (a second server
  process on the same Redis);
- login and refresh, with the tokens in the body.

For each phase: requests per second, p50/p90/p99 latency, non-2xx answers,
the server's peak resident memory during the phase (VmHWM after resetting it
through /proc/PID/clear_refs), and the Redis commands the phase executed per
request (INFO commandstats, inner commands of scripts included). Then a
calibration sends a few requests of each kind one at a time while MONITOR
records which commands the server itself sends per request, i.e. its round
trips, told apart from those its scripts run inside Redis.

Writes the results as JSON (default target/bench/load.json); the report is
rendered by scripts/bench_report.py. Everything it starts is stopped on exit.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = ROOT / "scripts" / "wrk"
# Commands the benchmark itself sends during a phase; never counted against
# the server (its PINGs come before the first phase).
OWN_COMMANDS = {"config|resetstat", "info", "echo", "monitor"}


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """A private redis-server on a free loopback port, without persistence."""

    def __init__(self, work: Path) -> None:
        binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
        if not binary:
            sys.exit("bench: redis-server is missing (scripts/bench installs it)")
        self.cli_bin = shutil.which("redis-cli") or sys.exit("bench: redis-cli is missing")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(work), "--logfile", str(work / "redis.log")])
        for _ in range(100):
            if self.answers():
                return
            time.sleep(0.05)
        sys.exit("bench: redis-server did not start")

    def answers(self) -> bool:
        try:
            return self.cli("PING").strip() == "PONG"
        except subprocess.CalledProcessError:
            return False

    def cli(self, *args: str) -> str:
        return subprocess.run([self.cli_bin, "-p", str(self.port), *args], check=True,
                              capture_output=True, text=True).stdout

    def reset_stats(self) -> None:
        self.cli("CONFIG", "RESETSTAT")

    def command_calls(self) -> dict[str, int]:
        calls = {}
        for line in self.cli("INFO", "commandstats").splitlines():
            match = re.match(r"cmdstat_([^:]+):calls=(\d+)", line)
            if match and match.group(1) not in OWN_COMMANDS:
                calls[match.group(1)] = int(match.group(2))
        return calls

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Server:
    """A release todo-server on a free port, its log in the work folder."""

    def __init__(self, binary: Path, work: Path, redis: Redis, secrets_env: dict[str, str],
                 extra_env: dict[str, str], name: str) -> None:
        folder = work / name
        folder.mkdir()
        self.log_path = folder / "server.log"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "APP_ENV": "development",
            "APP_CONFIG_DIR": str(ROOT / "config"),
            # The address is not logged at this level: a port picked here.
            "LISTEN_ADDR": f"127.0.0.1:{free_port()}",
            "REDIS_ADDR": f"127.0.0.1:{redis.port}",
            # One log line per request would measure the logger; warnings
            # and errors still show.
            "RUST_LOG": "warn,todo_server=warn",
            **secrets_env,
            **extra_env,
        }
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen([str(binary)], cwd=folder, env=env, stderr=log_file,
                                         stdout=subprocess.DEVNULL)
        self.addr = env["LISTEN_ADDR"]
        for _ in range(600):
            if self.proc.poll() is not None:
                sys.exit(f"bench: todo-server exited:\n{self.log_path.read_text()}")
            try:
                if call(self.addr, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit("bench: todo-server did not answer within 60 s")

    def rss_kib(self, field: str) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
        return int(match.group(1)) if match else 0

    def reset_peak(self) -> None:
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def call(addr: str, method: str, path: str, body: dict | None = None,
         token: str | None = None) -> tuple[int, dict]:
    host, port = addr.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        return response.status, json.loads(raw or b"{}")
    except json.JSONDecodeError:
        return response.status, {}


def login(addr: str, user: tuple[str, str]) -> dict:
    status, body = call(addr, "POST", "/login",
                        {"username": user[0], "password": user[1], "token_delivery": "body"})
    if status != 200:
        sys.exit(f"bench: login of {user[0]} answered {status} {body}")
    return body


def run_wrk(server: Server, redis: Redis, script: str, connections: int, duration: int,
            args: list[str], measure: bool = True) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
               "-s", str(WRK_DIR / script), f"http://{server.addr}", "--", *args]
    if measure:
        redis.reset_stats()
        server.reset_peak()
    env = {**os.environ, "BENCH_WRK_DIR": str(WRK_DIR)}
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    if not measure:
        return {}
    peak_kib = server.rss_kib("VmHWM")
    calls = redis.command_calls()
    line = next((l for l in output.splitlines() if l.startswith("BENCH_JSON ")), None)
    if line is None:
        sys.exit(f"bench: wrk printed no summary:\n{output}")
    summary = json.loads(line.removeprefix("BENCH_JSON "))
    requests = max(summary["requests"], 1)
    seconds = summary["duration_us"] / 1e6
    errors = sum(v for k, v in summary.items() if k.startswith("errors_"))
    return {
        "connections": connections,
        "duration_s": round(seconds, 2),
        "requests": summary["requests"],
        "rps": round(summary["requests"] / seconds, 1),
        "p50_ms": summary["p50_us"] / 1000,
        "p90_ms": summary["p90_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "max_ms": summary["max_us"] / 1000,
        "errors": errors,
        "errors_by_kind": {k.removeprefix("errors_"): v for k, v in summary.items()
                           if k.startswith("errors_") and v},
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "redis_commands_per_request": round(sum(calls.values()) / requests, 3),
        "redis_calls_per_request": {k: round(v / requests, 3) for k, v in sorted(calls.items())},
        "command": " ".join(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout",
                             "10s", "-s", f"scripts/wrk/{script}", "http://ADDR"]),
    }


class Monitor:
    """MONITOR on the private Redis: every command, and who sent it."""

    def __init__(self, redis: Redis, work: Path) -> None:
        self.redis = redis
        self.path = work / "monitor.log"
        self.file = open(self.path, "w")
        self.proc = subprocess.Popen([redis.cli_bin, "-p", str(redis.port), "MONITOR"],
                                     stdout=self.file)
        time.sleep(0.3)

    def mark(self, name: str) -> None:
        self.redis.cli("ECHO", f"bench-mark-{name}")
        time.sleep(0.2)

    def stop(self) -> str:
        time.sleep(0.3)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.file.close()
        return self.path.read_text(errors="replace")


def per_request(monitor_text: str, name: str, count: int) -> dict:
    """The commands between `name`'s marks: sent by the server (round trips)
    and run inside its scripts."""
    inside = False
    sent: dict[str, int] = {}
    scripted: dict[str, int] = {}
    for line in monitor_text.splitlines():
        if f'"bench-mark-{name}-start"' in line:
            inside = True
            continue
        if f'"bench-mark-{name}-end"' in line:
            break
        match = re.match(r'^[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"', line)
        if not inside or not match:
            continue
        source, command = match.group(1), match.group(2).lower()
        if command == "ping":
            # The local cache's heartbeat on its tracking connection, 20 a
            # second whatever the traffic: no request sends PING.
            continue
        target = scripted if source == "lua" else sent
        target[command] = target.get(command, 0) + 1
    return {
        "requests": count,
        "sent_per_request": round(sum(sent.values()) / count, 3),
        "sent_by_command": {k: round(v / count, 3) for k, v in sorted(sent.items())},
        "in_scripts_per_request": round(sum(scripted.values()) / count, 3),
    }


def calibrate(server: Server, redis: Redis, work: Path, users: list[tuple[str, str]],
              access_token: str) -> dict:
    """A few requests of each kind, one at a time, under MONITOR."""
    rounds = 50
    sessions = [login(server.addr, users[i % len(users)]) for i in range(11)]
    monitor = Monitor(redis, work)
    results = {}

    def measure(name: str, count: int, send) -> None:
        # One request first, outside the marks: a script's first use loads
        # it (SCRIPT LOAD after NOSCRIPT), once per Redis, not per request.
        send(count)
        monitor.mark(f"{name}-start")
        for i in range(count):
            status, body = send(i)
            if status >= 300:
                sys.exit(f"bench: calibration {name} answered {status} {body}")
        monitor.mark(f"{name}-end")
        results[name] = count

    measure("ceiling", rounds, lambda i: call(server.addr, "GET", "/healthz"))
    measure("todo", rounds, lambda i: call(server.addr, "POST", "/todo", {"title": "calibration"},
                                           token=access_token))
    measure("me", rounds, lambda i: call(server.addr, "GET", "/me", token=access_token))
    measure("login", 10, lambda i: call(server.addr, "POST", "/login", {
        "username": users[i][0], "password": users[i][1], "token_delivery": "body"}))
    chain = [sessions[0]["refresh_token"]]

    def refresh(_i: int) -> tuple[int, dict]:
        status, body = call(server.addr, "POST", "/token/refresh",
                            {"refresh_token": chain[-1]})
        chain.append(body.get("refresh_token", ""))
        return status, body

    measure("refresh", rounds, refresh)
    measure("logout", 9, lambda i: call(server.addr, "POST", "/logout",
                                        token=sessions[i + 1]["access_token"]))
    text = monitor.stop()
    return {name: per_request(text, name, count) for name, count in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, required=True, help="release todo-server")
    parser.add_argument("--out", type=Path, default=ROOT / "target" / "bench" / "load.json")
    parser.add_argument("--duration", type=int, default=15, help="seconds per phase")
    parser.add_argument("--connections", type=int, default=256,
                        help="connections for the ceiling and todo phases")
    parser.add_argument("--login-connections", type=int, default=16)
    parser.add_argument("--refresh-connections", type=int, default=64)
    parser.add_argument("--no-cache", action="store_true",
                        help="skip the phase with the local revocation cache on")
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is missing (scripts/bench installs it)")

    work = Path(tempfile.mkdtemp(prefix="todo-bench-"))
    started: list = []
    try:
        redis = Redis(work)
        started.append(redis)
        secrets_env = {
            "ACCESS_SECRET": base64.b64encode(secrets.token_bytes(48)).decode(),
            "REFRESH_SECRET": base64.b64encode(secrets.token_bytes(48)).decode(),
            # Each benchmark user stores tens of thousands of todos.
            "APP__TODOS__MAX_PER_USER": "1000000000",
        }
        options.binary = options.binary.resolve()
        server = Server(options.binary, work, redis, secrets_env, {}, "cache-off")
        started.append(server)
        idle_kib = server.rss_kib("VmRSS")
        log(f"server {server.addr}, redis 127.0.0.1:{redis.port}")

        users = [(f"bench-{i}", secrets.token_urlsafe(12)) for i in range(64)]
        with ThreadPoolExecutor(8) as pool:
            for status, body in pool.map(
                    lambda u: call(server.addr, "POST", "/register",
                                   {"username": u[0], "password": u[1]}), users):
                if status != 201:
                    sys.exit(f"bench: register answered {status} {body}")
            access = [s["access_token"] for s in pool.map(lambda u: login(server.addr, u),
                                                           users[:16])]
            refresh_count = 2 * options.refresh_connections
            refresh = [s["refresh_token"] for s in pool.map(
                lambda i: login(server.addr, users[i % len(users)]), range(refresh_count))]
        (work / "access.txt").write_text("\n".join(access) + "\n")
        (work / "refresh.txt").write_text("\n".join(refresh) + "\n")
        (work / "users.txt").write_text("".join(f"{n} {p}\n" for n, p in users))

        d, c = options.duration, options.connections
        phases = {}
        log("phase ceiling")
        run_wrk(server, redis, "ceiling.lua", c, 3, [], measure=False)
        phases["ceiling"] = run_wrk(server, redis, "ceiling.lua", c, d, [])
        log("phase readyz (one store round trip, no token)")
        run_wrk(server, redis, "readyz.lua", c, 3, [], measure=False)
        phases["readyz"] = run_wrk(server, redis, "readyz.lua", c, d, [])
        log("phase todo, cache off")
        run_wrk(server, redis, "todo.lua", c, 3, [str(work / "access.txt")], measure=False)
        phases["todo_cache_off"] = run_wrk(server, redis, "todo.lua", c, d,
                                           [str(work / "access.txt")])
        log("phase me, cache off (the middleware alone)")
        run_wrk(server, redis, "me.lua", c, 3, [str(work / "access.txt")], measure=False)
        phases["me_cache_off"] = run_wrk(server, redis, "me.lua", c, d,
                                         [str(work / "access.txt")])
        log("phase login")
        phases["login"] = run_wrk(server, redis, "login.lua", options.login_connections, d,
                                  [str(work / "users.txt")])
        log("phase refresh")
        phases["refresh"] = run_wrk(server, redis, "refresh.lua", options.refresh_connections,
                                    d, [str(work / "refresh.txt")])
        log("calibration: commands sent per request")
        calibration = calibrate(server, redis, work, users, access[0])
        server.stop()
        started.remove(server)

        if not options.no_cache:
            cached = Server(options.binary, work, redis, secrets_env,
                            {"APP__STORE__LOCAL_CACHE": "true"}, "cache-on")
            started.append(cached)
            log("phase todo, cache on")
            run_wrk(cached, redis, "todo.lua", c, 3, [str(work / "access.txt")], measure=False)
            phases["todo_cache_on"] = run_wrk(cached, redis, "todo.lua", c, d,
                                              [str(work / "access.txt")])
            log("phase me, cache on")
            run_wrk(cached, redis, "me.lua", c, 3, [str(work / "access.txt")], measure=False)
            phases["me_cache_on"] = run_wrk(cached, redis, "me.lua", c, d,
                                            [str(work / "access.txt")])
            cached_calibration = calibrate(cached, redis, work, users, access[0])
            calibration["todo_cache_on"] = cached_calibration["todo"]
            calibration["me_cache_on"] = cached_calibration["me"]
            cached.stop()
            started.remove(cached)

        results = {
            "machine": {
                "cores": os.cpu_count(),
                "cpu": next((l.split(":", 1)[1].strip() for l in
                             Path("/proc/cpuinfo").read_text().splitlines()
                             if l.startswith("model name")), "unknown"),
                "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                    / 2**30, 1),
                "redis": redis.cli("INFO", "server").split("redis_version:")[1].split()[0],
                "wrk": "wrk -t1 (one thread), same machine as server and Redis",
            },
            "settings": {"duration_s": d, "connections": c,
                         "login_connections": options.login_connections,
                         "refresh_connections": options.refresh_connections,
                         "server_log": "RUST_LOG=warn", "store": "Redis, standalone, loopback"},
            "idle_rss_mib": round(idle_kib / 1024, 1),
            "phases": phases,
            "calibration": calibration,
        }
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(json.dumps(results, indent=2) + "\n")
        log(f"results in {options.out}")
        print(json.dumps(results, indent=2))
    finally:
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as error:  # keep stopping the rest
                log(f"stopping {thing}: {error}")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
