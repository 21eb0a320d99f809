# credit-service: granian serving credit_service:create_app() (`credit-service serve`; docs/operations.md).
# Build: docker build -t credit-service .
# Run (PostgreSQL): docker run -e CREDIT_SERVICE_DATABASE_URL=postgresql+psycopg://user@db/credit -p 8000:8000 credit-service
# and give every replica the same CREDIT_SERVICE_PII_HMAC_KEYS and CREDIT_SERVICE_PII_ENCRYPTION_KEYS from
# the secret store (README "Identity numbers at rest"); without them keys are generated into /data.
# Likewise CREDIT_SERVICE_AUDIT_MAC_KEYS, and CREDIT_SERVICE_AUDIT_ANCHOR_FILE on append-only storage (docs/audit.md).
# Every replica also needs the same CREDIT_SERVICE_SECRET_KEY (the web forms' CSRF tokens; docs/console.md).
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
COPY pyproject.toml README.md ./
COPY credit_service ./credit_service
COPY schemas ./schemas
COPY jobs ./jobs
RUN pip install --no-cache-dir . && useradd --system --home /app credit && mkdir -p /data && chown credit /data
COPY config ./config

USER credit
EXPOSE 8000
VOLUME ["/data"]
# Migrate, then serve. With several replicas set CREDIT_SERVICE_SCHEDULER=off here and run one
# `credit-service jobs run` container (the runner lock makes a second one harmless, not useful).
# `docker stop` sends SIGTERM to the server (exec: it is PID 1): in-flight requests get 30 s to finish.
# Slow clients need no proxy in front: the server reads requests asynchronously (docs/operations.md).
CMD ["sh", "-c", "credit-service db upgrade && exec credit-service serve --host 0.0.0.0 --port 8000 --workers ${CREDIT_SERVICE_WORKERS:-${GUNICORN_WORKERS:-2}}"]
