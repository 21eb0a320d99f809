"""The service with faults injected on request, for the end-to-end log and timeout tests:
`credit-service serve --app tests.e2e.faulty_app:create_app`. Header X-Fault says which:

    raise        an exception escapes to the server, its message holding the request path
    flask-raise  an exception inside Flask (the service's own 500 handler logs it)
    print        the path printed to stderr, not through logging
    sleep        the request hangs (the worker timeout ends it)
    slow         the request takes 2 s, then is answered normally

The faults sit inside the operations layer, where a defect of the service itself would be.
"""
from __future__ import annotations

import sys
import time

from credit_service import create_app as create_service


class Faults:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        fault = environ.get("HTTP_X_FAULT")
        path = environ.get("PATH_INFO", "")
        if fault == "raise":
            raise RuntimeError(f"fault injected while serving {path}")
        if fault == "print":
            print(f"fault injected: printing {path}", file=sys.stderr, flush=True)
        elif fault == "sleep":
            time.sleep(600)
        elif fault == "slow":
            time.sleep(2)
        return self.wsgi_app(environ, start_response)


def create_app():
    app = create_service()

    @app.before_request
    def flask_fault():
        from flask import request
        if request.headers.get("X-Fault") == "flask-raise":
            raise ValueError(f"fault injected in Flask while serving {request.path}")

    operations = app.wsgi_app  # the outermost layer (credit_service/__init__.py)
    operations.wsgi_app = Faults(operations.wsgi_app)
    return app
