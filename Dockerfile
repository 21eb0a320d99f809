# credit-service: granian serving credit_service:create_app() (`credit-service serve`; docs/operations.md).
# Build: docker build -t credit-service .
# Run (PostgreSQL): docker run -e CREDIT_SERVICE_DATABASE_URL=postgresql+psycopg://user@db/credit -p 8000:8000 credit-service
# and give every replica the same CREDIT_SERVICE_PII_HMAC_KEYS and CREDIT_SERVICE_PII_ENCRYPTION_KEYS from
# the secret store (README "Identity numbers at rest"); without them keys are generated into /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CREDIT_SERVICE_CONFIG_DIR=/app/config \
    CREDIT_SERVICE_DATA_DIR=/data \
    TZ=Asia/Shanghai

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
