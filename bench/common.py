"""Shared helpers for the benchmarks: configuration, synthetic identity numbers, the servers,
wrk, /proc RSS and result files. Standard library + the project's own venv only."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
VENV_BIN = PROJECT / ".venv" / "bin"
RESULTS = BENCH_DIR / "results"
LUA_DIR = BENCH_DIR / "lua"

sys.path.insert(0, str(PROJECT))  # credit_service is installed editable; this only helps odd setups

from credit_service.clock import SystemClock  # noqa: E402
from credit_service.domain.identity import check_digit  # noqa: E402

PG_URL = os.environ.get("BENCH_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/credit_bench")
if PG_URL.rsplit("/", 1)[-1].split("?")[0] == "test":
    raise SystemExit("refusing to benchmark against the database 'test' (the test suite drops it)")


def _bench_keys() -> None:
    """With PostgreSQL the service needs its keys configured (issue 13). The benchmarks use the keys of
    the checkout's data directory (var/, made once, as `./dev serve` does), passed on as the variables to
    every server and command they start, so the seeded rows and every server agree."""
    from credit_service.adapters.audit_keys import load_or_create_default_key
    from credit_service.adapters.pii import load_or_create_default_keys
    from credit_service.settings import _data_dir, _default_secret_key
    keys = load_or_create_default_keys(_data_dir())
    os.environ.setdefault("CREDIT_SERVICE_PII_HMAC_KEYS", keys["hmac_keys"])
    os.environ.setdefault("CREDIT_SERVICE_PII_ENCRYPTION_KEYS", keys["encryption_keys"])
    os.environ.setdefault("CREDIT_SERVICE_AUDIT_MAC_KEYS", load_or_create_default_key(_data_dir()))
    os.environ.setdefault("CREDIT_SERVICE_SECRET_KEY", _default_secret_key())


KEY_VARIABLES = ("CREDIT_SERVICE_PII_HMAC_KEYS", "CREDIT_SERVICE_PII_ENCRYPTION_KEYS", "CREDIT_SERVICE_AUDIT_MAC_KEYS",
                 "CREDIT_SERVICE_SECRET_KEY")
_bench_keys()


def libpq_url(sqlalchemy_url: str) -> str:
    """postgresql+psycopg://… -> postgresql://… for psycopg.connect."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", sqlalchemy_url)


def today() -> date:
    """The service's notion of today (Asia/Shanghai)."""
    return SystemClock().today()


# ---------------------------------------------------------------- synthetic identity numbers
# Subject i (0 <= i < 320,000,000) maps to a unique, valid GB 11643 number. Seeded subjects are
# 0 … N-1; "never recorded" subjects are taken from NEVER_BASE upwards, so they cannot collide.
SEED_REGIONS = ("370102", "370103", "370104", "370105", "370112", "370113", "370114", "370115",
                "370116", "370117", "370124", "370126", "370181", "370202", "370203", "370211")
NEVER_BASE = 100_000_000
_BIRTH0 = date(1950, 1, 1)


def subject_id(i: int) -> str:
    region = SEED_REGIONS[i % 16]
    rest = i // 16
    birth = _BIRTH0 + timedelta(days=rest % 20000)
    seq = rest // 20000
    if seq > 999:
        raise ValueError("subject index out of range")
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def import_id(rng) -> str:
    """A valid number in region 370902 (not used by the seed): fresh subjects for import runs."""
    birth = _BIRTH0 + timedelta(days=rng.randrange(20000))
    first17 = f"370902{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + check_digit(first17)


def is_restricted(i: int) -> bool:
    """Seeded subjects with an active settlement suspension: every 5th (all insured)."""
    return i % 5 == 0


def subject_type_of(i: int) -> str:
    return {1: "physician", 2: "pharmacist"}.get(i % 20, "insured")


# ---------------------------------------------------------------- environment / CLI
def service_env(database_url: str, **extra) -> dict:
    env = dict(os.environ)
    env.update({"CREDIT_SERVICE_DATABASE_URL": database_url, "CREDIT_SERVICE_SCHEDULER": "off",
                "CREDIT_SERVICE_RATE_LIMIT": "off"})  # one load generator is one client: it is not to be throttled
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli(*args: str, database_url: str) -> str:
    out = subprocess.run([str(VENV_BIN / "credit-service"), *args], env=service_env(database_url),
                         cwd=PROJECT, check=True, capture_output=True, text=True, timeout=300)
    return out.stdout.strip()


def db_upgrade(database_url: str) -> None:
    cli("db", "upgrade", database_url=database_url)


def create_token(role: str, database_url: str, prefix: str = "bench") -> tuple[str, str]:
    """A new API client (`credit-service clients create`); returns (name, token)."""
    name = f"{prefix}-{role}-{uuid.uuid4().hex[:10]}"
    token = cli("clients", "create", "--name", name, "--role", role, database_url=database_url)
    return name, token.splitlines()[-1].strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- servers
# How each server is started. "granian" is `credit-service serve`, the service's default (./dev serve,
# the Dockerfile); the gunicorn ones use the shipped configuration (credit_service/gunicorn_conf.py:
# the same JSON logs and metrics directory), with the worker class named. APP is the WSGI target:
# "service" (the credit service) or "hello" (bench/hello_wsgi.py: a server with no framework at all).
SERVER_KINDS = ("gunicorn-sync", "gunicorn-gthread", "gunicorn-gevent", "granian")
DEFAULT_SERVER = os.environ.get("BENCH_SERVER", "granian")


def server_command(kind: str, port: int, workers: int, app: str = "service") -> list[str]:
    if kind == "granian":
        target = {"service": "credit_service:create_app", "hello": "hello_wsgi:create_app"}[app]
        return [str(VENV_BIN / "credit-service"), "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--app", target]
    if not kind.startswith("gunicorn-"):
        raise ValueError(f"unknown server {kind!r}; known: {', '.join(SERVER_KINDS)}")
    target = {"service": "credit_service:create_app()", "hello": "hello_wsgi:app"}[app]
    cmd = [str(VENV_BIN / "gunicorn"), "-c", "python:credit_service.gunicorn_conf", "-w", str(workers),
           "-b", f"127.0.0.1:{port}", "-k", kind.split("-", 1)[1]]
    if kind == "gunicorn-gthread":
        cmd += ["--threads", os.environ.get("BENCH_GTHREADS", "8")]
    if kind == "gunicorn-gevent":
        cmd += ["--worker-connections", "1000"]
    if os.environ.get("BENCH_GUNICORN_TIMEOUT"):
        cmd += ["--timeout", os.environ["BENCH_GUNICORN_TIMEOUT"]]
    return cmd + [target]


class Server:
    """One server (default: `credit-service serve`, i.e. granian with 2 workers; BENCH_SERVER or `kind`
    picks another) on 127.0.0.1:PORT, no server access log, stopped on exit.

    Started in its own session so that stop() can signal exactly the group it created.
    """

    def __init__(self, database_url: str, port: int | None = None, workers: int = 2, log_path: Path | None = None,
                 kind: str | None = None, app: str = "service"):
        self.database_url = database_url
        self.port = port or free_port()
        self.workers = workers
        self.kind = kind or DEFAULT_SERVER
        self.app = app
        self.log_path = log_path or RESULTS / f"{self.kind}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_seconds: float = 60) -> "Server":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "w")
        cmd = server_command(self.kind, self.port, self.workers, self.app)
        env = service_env(self.database_url)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), env.get("PYTHONPATH")]))  # hello_wsgi
        self.proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        _SERVERS.append(self)
        deadline = time.monotonic() + wait_seconds
        probe = "/ping" if self.app == "service" else "/"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early; see {self.log_path}")
            if len(self.worker_pids()) >= self.workers:
                try:
                    if http_get(self.base_url + probe, timeout=2)[0] == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.kind} did not answer {probe} within {wait_seconds}s; see {self.log_path}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def worker_pids(self) -> list[int]:
        return worker_pids(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # the master: graceful stop of its workers
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            # the session/group this object created; granian workers (own groups) die with their master
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


_SERVERS: list[Server] = []


def _stop_all(*_args):
    for server in list(_SERVERS):
        try:
            server.stop()
        except Exception:
            pass


def install_cleanup() -> None:
    import atexit
    atexit.register(_stop_all)

    def on_signal(signum, _frame):
        _stop_all()
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def worker_pids(master_pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{master_pid}/task").glob("*/children"):
        try:
            children += [int(p) for p in task.read_text().split()]
        except OSError:
            pass
    return sorted(children)


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def index_rebuilds(log_path: Path) -> list[tuple[int, float]]:
    """(subjects, seconds) of every 'status index rebuilt' line in a server log."""
    found = []
    for m in re.finditer(r"status index rebuilt: (\d+) subjects in ([\d.]+) s", Path(log_path).read_text()):
        found.append((int(m.group(1)), float(m.group(2))))
    return found


# ---------------------------------------------------------------- HTTP (stdlib, for warm-up/checks)
def http_get(url: str, headers: dict | None = None, timeout: float = 120) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def warm_status_index(server_url: str, token: str, log_path: Path, workers: int, sample_path: str,
                      timeout: float = 300) -> dict:
    """Send status requests (2 at a time, so that each worker gets one) until every worker has logged
    its index rebuild. Returns the first-request latencies and the logged rebuild times."""
    from concurrent.futures import ThreadPoolExecutor
    before = len(index_rebuilds(log_path))
    headers = {"Authorization": f"Bearer {token}"}
    first_latencies = []
    deadline = time.monotonic() + timeout

    def one():
        started = time.perf_counter()
        status, _ = http_get(server_url + sample_path, headers, timeout=timeout)
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(workers) as pool:
        while len(index_rebuilds(log_path)) - before < workers:
            if time.monotonic() > deadline:
                raise RuntimeError("status index did not load in every worker in time")
            for status, seconds in pool.map(lambda _: one(), range(workers)):
                if status != 200:
                    raise RuntimeError(f"warm-up status request answered {status}")
                first_latencies.append(seconds)
            time.sleep(0.1)
    rebuilds = index_rebuilds(log_path)[before:]
    return {"first_request_seconds": [round(s, 3) for s in first_latencies[:workers]],
            "rebuilds": [{"subjects": n, "seconds": s} for n, s in rebuilds]}


# ---------------------------------------------------------------- wrk
def run_wrk(url: str, script: str, duration: int, connections: int, threads: int = 1,
            env: dict | None = None, timeout_s: int = 10) -> dict:
    """wrk with one of bench/lua/*.lua; the script's done() prints one JSON line we parse."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", f"--timeout", f"{timeout_s}s",
           "-s", str(LUA_DIR / script), url]
    full_env = dict(os.environ, BENCH_LUA_DIR=str(LUA_DIR), **(env or {}))
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=duration + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr or out.stdout}")
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line[len("BENCH_JSON "):])
    data["requests_per_second"] = data["requests"] / (data["duration_us"] / 1e6)
    data["command"] = " ".join(cmd)
    return data


# ---------------------------------------------------------------- results
def error_count(w: dict) -> int:
    """Responses that were not the expected answer in one wrk run: wrk counts every status ≥ 400 and every
    socket error (connect, read, write, timeout). A figure with any of them is FAILED, never MET."""
    return sum(w["errors"].values())


def verdict(met: bool, failed: bool) -> str:
    return "FAILED (error answers counted)" if failed else ("MET" if met else "MISSED")


RATE_LIMIT_NOTE = ("rate limits: off on the server under test (CREDIT_SERVICE_RATE_LIMIT=off, set by bench/run "
                   "and by every server a bench script starts): one load generator is one client")


def run_id() -> str:
    return os.environ.get("BENCH_RUN_ID") or datetime.now().strftime("%Y%m%dT%H%M%S")


def code_version() -> dict:
    """The commit measured and whether application files differ from it (read-only git calls)."""
    def git(*args):
        try:
            return subprocess.run(["git", "--no-optional-locks", *args], cwd=PROJECT, capture_output=True,
                                  text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    dirty = git("status", "--porcelain", "--", "credit_service", "schemas", "jobs", "config", "pyproject.toml")
    return {"commit": git("rev-parse", "--short", "HEAD"), "app_files_modified": dirty.splitlines()}


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    rid = run_id()
    data = {"benchmark": name, "run_id": rid, "recorded_at": datetime.now().isoformat(timespec="seconds"),
            "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "code": code_version(), **data}
    path = RESULTS / f"{rid}-{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    (RESULTS / f"latest-{name}.json").write_text(path.read_text())
    return path


def say(*parts) -> None:
    print(*parts, flush=True)


# ---------------------------------------------------------------- request mix and server selection
SEED_SUBJECTS = 500_000


def id_mix(n: int = 10_000, n_subjects: int = SEED_SUBJECTS, seed: int = 7) -> list[tuple[str, bool]]:
    """n insured identity numbers, half seeded with an active suspension, half never recorded, shuffled.
    Returns (id_number, restricted)."""
    import random
    rng = random.Random(seed)
    restricted = rng.sample(range(0, n_subjects, 5), n // 2)  # is_restricted(i): i % 5 == 0, insured
    never = [NEVER_BASE + k for k in range(n - n // 2)]
    items = [(subject_id(i), True) for i in restricted] + [(subject_id(i), False) for i in never]
    rng.shuffle(items)
    return items


def status_path(id_number: str, on: date) -> str:
    return f"/api/v1/subjects/insured/{id_number}/status?on={on.isoformat()}"


def scratch_dir() -> Path:
    path = RESULTS / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def add_server_args(parser) -> None:
    group = parser.add_argument_group("use a running server (bench/run does); otherwise one is started")
    group.add_argument("--base-url", help="e.g. http://127.0.0.1:8123 (must be 127.0.0.1)")
    group.add_argument("--server-log", help="its log file (for the 'status index rebuilt' lines)")
    group.add_argument("--server-pid", type=int, help="the server's master pid (for worker RSS)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (default 2)")


class Target:
    def __init__(self, base_url: str, log_path: Path | None, pid: int | None, workers: int,
                 server: Server | None = None):
        if not base_url.startswith("http://127.0.0.1:"):
            raise SystemExit("benchmarks only send traffic to 127.0.0.1")
        self.base_url, self.log_path, self.pid, self.workers, self.server = base_url, log_path, pid, workers, server

    def worker_pids(self) -> list[int]:
        return worker_pids(self.pid) if self.pid else []

    def worker_rss_mib(self) -> dict[str, float]:
        return {str(p): round(rss_kib(p) / 1024, 1) for p in self.worker_pids() if rss_kib(p)}

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def open_target(args, database_url: str) -> Target:
    if args.base_url:
        return Target(args.base_url.rstrip("/"), Path(args.server_log) if args.server_log else None,
                      args.server_pid, args.workers)
    install_cleanup()
    server = Server(database_url, workers=args.workers,
                    log_path=RESULTS / f"{run_id()}-{DEFAULT_SERVER}-{os.getpid()}.log").start()
    say(f"started {server.kind}, {args.workers} workers, on {server.base_url} (pid {server.pid}, log {server.log_path})")
    return Target(server.base_url, server.log_path, server.pid, args.workers, server)


def ensure_warm(target: Target, token: str, sample_path: str) -> dict | None:
    """Make sure every worker has loaded its status index; returns the warm-up figures if this call did it."""
    if target.log_path and len(index_rebuilds(target.log_path)) >= target.workers:
        return None
    if target.log_path is None:  # cannot see the log: just hit it a few times per worker
        for _ in range(4 * target.workers):
            http_get(target.base_url + sample_path, {"Authorization": f"Bearer {token}"}, timeout=300)
        return None
    return warm_status_index(target.base_url, token, target.log_path, target.workers, sample_path)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def measured_wrk(target: "Target", url: str, script: str, duration: int, connections: int,
                 env: dict | None = None) -> dict:
    """run_wrk plus CPU accounting over the run: the workers' CPU per request, wrk's CPU, and the CPU
    used by everything else on the machine (other users' processes disturb a 2-core benchmark)."""
    import resource
    pids = target.worker_pids() + ([target.pid] if target.pid else [])
    tick = os.sysconf("SC_CLK_TCK")
    w0 = sum(cpu_seconds(p) for p in pids)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0 = _busy_jiffies()
    result = run_wrk(url, script, duration, connections, env=env)
    b1, t1 = _busy_jiffies()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w1 = sum(cpu_seconds(p) for p in pids)
    seconds = result["duration_us"] / 1e6
    workers = w1 - w0
    wrk_cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    busy = (b1 - b0) / tick
    n = max(result["requests"], 1)
    result["cpu"] = {
        "server_cores": round(workers / seconds, 2) if pids else None,
        "server_us_per_request": round(workers / n * 1e6, 1) if pids else None,
        "wrk_cores": round(wrk_cpu / seconds, 2),
        "wrk_us_per_request": round(wrk_cpu / n * 1e6, 1),
        "machine_busy_cores": round(busy / seconds, 2),
        "other_cores": round(max(busy - workers - wrk_cpu, 0) / seconds, 2) if pids else None,
    }
    return result


def run_against_seeded_server(args, name: str, run) -> None:
    """Seed if needed, get a settlement token, open (or start) the server, run, write the result."""
    if not args.no_seed and not args.base_url:
        import seed
        seed.seed(PG_URL, 1_000_000, SEED_SUBJECTS, reseed=False)
    token = os.environ.get("BENCH_SETTLEMENT_TOKEN") or create_token("settlement", PG_URL)[1]
    target = open_target(args, PG_URL)
    say(RATE_LIMIT_NOTE)
    try:
        result = run(target, token, args)
    finally:
        target.close()
    write_result(name, result)
