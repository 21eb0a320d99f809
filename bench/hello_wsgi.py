"""The raw WSGI hello-world of bench/bench_servers.py: what a server costs with no framework at all."""

BODY = b"hello"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def create_app():
    """The factory form, for `credit-service serve --app hello_wsgi:create_app` (same server settings)."""
    return app
