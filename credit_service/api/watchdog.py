"""The worker timeout: a request that runs longer than `request_timeout_seconds` ends its process.

gunicorn's sync workers had this from the arbiter (--timeout). The default server (granian,
credit_service/serving.py) runs requests on threads it cannot interrupt, so each worker process
watches its own requests: past the timeout it logs the request (its bounded method and route
template, never the path, which may carry an identity number), stops taking connections (SIGTERM:
the server's own graceful stop), and exits after a grace period. The server starts a fresh worker,
which loads its own index. Something stuck is a defect to find, not a state to serve from: this ends it.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)


def _end_process(grace_seconds: float) -> None:
    from ..logging_setup import flush_logs
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_seconds)
    flush_logs()
    os._exit(70)  # the stuck request never returned: the graceful stop cannot finish


class RequestWatchdog:
    GRACE_SECONDS = 5.0

    def __init__(self, timeout: float, describe: Callable[[dict], str],
                 stop: Callable[[], None] | None = None):
        self.timeout = timeout
        self._describe = describe
        self._stop = stop or (lambda: _end_process(self.GRACE_SECONDS))
        self._running: dict[int, tuple[float, dict]] = {}
        self._pid: int | None = None
        self._starting = threading.Lock()
        self.fired = threading.Event()

    def begin(self, environ: dict) -> None:
        self._running[id(environ)] = (time.monotonic(), environ)
        if self._pid != os.getpid():  # first request of this process (a fork does not copy threads)
            with self._starting:
                if self._pid != os.getpid():
                    self._pid = os.getpid()
                    threading.Thread(target=self._watch, name="request-watchdog", daemon=True).start()

    def end(self, environ: dict) -> None:
        self._running.pop(id(environ), None)

    def _watch(self) -> None:
        pid = os.getpid()
        interval = min(1.0, self.timeout / 4)
        while self._pid == pid:
            time.sleep(interval)
            oldest = min(list(self._running.values()), default=None, key=lambda item: item[0])
            if oldest is None:
                continue
            seconds = time.monotonic() - oldest[0]
            if seconds > self.timeout:
                log.error("request timeout: %s ran %.1f s (limit %g s); this worker stops and is replaced",
                          self._describe(oldest[1]), seconds, self.timeout)
                self.fired.set()
                self._stop()
                return
