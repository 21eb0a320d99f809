"""A real webhook receiver on 127.0.0.1 (port picked free) for the change-push tests."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from credit_service.domain.webhooks import verify_signature

SECRET = "s3cret-for-tests-0123456789"


class Receiver:
    """Answers `fail_next` requests with 500 (or drops the connection), then 200; keeps every request."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.fail_next = 0
        self.drop = False
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= failing
                    if receiver.drop and failing:
                        self.close_connection = True
                        self.connection.close()
                        return
                    if not failing:
                        receiver.received.append((dict(self.headers, _arrived=time.time()), body))
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/credit"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        """What the receiver accepted (2xx) after checking the signature as docs/webhooks.md says:
        over "<timestamp>." + body, the timestamp no older than five minutes (on arrival)."""
        accepted = []
        with self.lock:
            requests = list(self.received)
        for headers, body in requests:
            assert verify_signature(SECRET, headers.get("X-Credit-Timestamp"), headers.get("X-Credit-Signature"),
                                    body, now=headers["_arrived"])
            event = json.loads(body)
            assert headers["X-Credit-Event-Id"] == event["event_id"]
            accepted.append(event)
        return accepted

    def close(self):
        self.server.shutdown()
        self.server.server_close()
