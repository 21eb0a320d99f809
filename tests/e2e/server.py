"""Start and stop the real server for end-to-end tests: `credit-service serve`, as `./dev serve` and the
Dockerfile start it (granian, worker processes). Ports are always picked free; the server's log
(JSON lines on stderr) goes to a file the test can read."""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "credit-service")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url: str, workers: int = 2, args: tuple[str, ...] = (), ready: str = "/readyz",
                 **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, CREDIT_SERVICE_DATABASE_URL=database_url, CREDIT_SERVICE_SCHEDULER="off",
                           CREDIT_SERVICE_INDEX_POLL_SECONDS="0.5", CREDIT_SERVICE_RATE_LIMIT="off",
                           CREDIT_SERVICE_LOG_LEVEL="WARNING", CREDIT_SERVICE_REQUEST_TIMEOUT_SECONDS="120")
        environment.update({k: str(v) for k, v in env.items()})
        # tests.e2e.faulty_app must be importable by the workers (`--app`)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self.log_file = tempfile.NamedTemporaryFile(prefix="credit-service-e2e-", suffix=".log", delete=False)
        self.log_path = Path(self.log_file.name)
        atexit.register(self.log_path.unlink, missing_ok=True)  # read by the tests after stop()
        self.process = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers), *args],
            cwd=ROOT, env=environment, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("server exited: " + self.log())
            try:
                if requests.get(f"{self.base}{ready}", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not become ready: " + self.log())

    def log(self) -> str:
        """What the server has written. A running server's INFO lines leave in batches
        (logging_setup.ServiceHandler.FLUSH_SECONDS): wait out a few batches first."""
        from credit_service.logging_setup import ServiceHandler
        if self.process.poll() is None:
            time.sleep(ServiceHandler.FLUSH_SECONDS * 3)
        return self.log_path.read_text(errors="replace")

    def workers(self) -> list[int]:
        children = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                children += [int(p) for p in task.read_text().split()]
            except OSError:
                pass
        return sorted(children)

    def kill_9(self) -> None:
        """SIGKILL to the master: nobody gets to clean up. Its workers die with it (the kernel kills
        them when their parent dies: credit_service/serving.py)."""
        workers = self.workers()
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        _wait_gone(workers, 10)

    def stop(self) -> None:
        """SIGTERM to the master, as `docker stop` sends it: a graceful stop."""
        if self.process.poll() is None:
            workers = self.workers()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill_9()
            _wait_gone(workers, 10)
        self.log_file.close()


def _wait_gone(pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            try:
                if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
                    break  # exited, waiting to be reaped by whoever adopted it
            except OSError:
                break
            time.sleep(0.05)
