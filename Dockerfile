# credit-service: granian serving credit_service:create_app() (`credit-service serve`; docs/operations.md).
# Build: docker build -t credit-service .
# Several nodes, one job runner, PostgreSQL primary + replica: deploy/compose.yaml and docs/deployment.md.
# With PostgreSQL every key must be configured, the same on every node (the process refuses to start
# otherwise): CREDIT_SERVICE_PII_HMAC_KEYS, CREDIT_SERVICE_PII_ENCRYPTION_KEYS, CREDIT_SERVICE_AUDIT_MAC_KEYS,
# CREDIT_SERVICE_SECRET_KEY — or the same names ending in _FILE, naming secret files. Keys are generated
# into /data only for the embedded SQLite default. CREDIT_SERVICE_AUDIT_ANCHOR_FILE on append-only storage
# (docs/audit.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CREDIT_SERVICE_CONFIG_DIR=/app/config \
    CREDIT_SERVICE_DATA_DIR=/data \
    TZ=Asia/Shanghai

# Pango and CJK fonts: the letters are rendered to PDF by WeasyPrint (credit_service/documents/).
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fontconfig fonts-noto-cjk && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The exact versions the tests ran with, each checked against its hash: every image is the same.
# (requirements.lock: pip-compile --generate-hashes from pyproject.toml; docs/deployment.md says how to renew it.)
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY credit_service ./credit_service
COPY schemas ./schemas
COPY jobs ./jobs
RUN pip install --no-cache-dir --no-deps . && pip check \
    && useradd --system --home /app credit && mkdir -p /data && chown credit /data
COPY config ./config

USER credit
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"
VOLUME ["/data"]
# Migrate, then serve. `db upgrade` runs under a lock, so replicas starting at once are safe; with several
# nodes deploy/compose.yaml still migrates once, in a service of its own, and runs the nodes with
# CREDIT_SERVICE_SCHEDULER=off beside one `credit-service jobs run` container.
# `docker stop` sends SIGTERM to the server (exec: it is PID 1): in-flight requests get 30 s to finish.
# Slow clients need no proxy in front: the server reads requests asynchronously (docs/operations.md).
CMD ["sh", "-c", "credit-service db upgrade && exec credit-service serve --host 0.0.0.0 --port 8000 --workers ${CREDIT_SERVICE_WORKERS:-${GUNICORN_WORKERS:-2}}"]
