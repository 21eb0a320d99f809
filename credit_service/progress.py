"""Progress of long commands (`keys rotate`, `audit verify`, data-converting migrations): a line on stderr
at most every few seconds — done, total, rate, time left — so that an operator running them for minutes
at a province's scale knows they are moving (issue 13)."""
from __future__ import annotations

import logging
import sys
import time


class Progress:
    def __init__(self, what: str, total: int | None, unit: str = "rows", every_seconds: float = 2.0,
                 stream=None, log: logging.Logger | None = None):
        self.what, self.total, self.unit, self.every = what, total, unit, every_seconds
        self.stream = stream if stream is not None else (None if log else sys.stderr)
        self.log = log
        self.started = self._last = time.monotonic()
        self.done = 0

    def __call__(self, done: int) -> None:
        """`done` so far; writes a line when `every_seconds` have passed since the last one."""
        self.done = done
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._write(self.line(now))

    def finish(self) -> None:
        if time.monotonic() - self.started >= self.every:  # only after something was shown
            self._write(self.line(time.monotonic(), final=True))

    def line(self, now: float, final: bool = False) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.what}: {self.done:,}"
        if self.total:
            text += f" / {self.total:,} {self.unit} ({100 * self.done / self.total:.0f} %)"
        else:
            text += f" {self.unit}"
        text += f", {elapsed:.0f} s, {rate:,.0f} {self.unit}/s"
        if self.total and rate > 0 and not final:
            text += f", about {max(self.total - self.done, 0) / rate:.0f} s left"
        return text + (" — done" if final else "")

    def _write(self, text: str) -> None:
        if self.log is not None:
            self.log.info("%s", text)
        else:
            print(text, file=self.stream, flush=True)
