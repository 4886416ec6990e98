# The triage service: `triage serve` (Kafka consumer + HTTP API), non-root, with the model.
# Build from the repository root:  docker build -t hotline-triage .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY triage ./triage
COPY streams ./streams
COPY training ./training
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TRIAGE_HTTP_HOST=0.0.0.0 TRIAGE_HTTP_PORT=8080 TRIAGE_MODELS_DIR=/app/models
RUN useradd --system --uid 10001 --home-dir /app triage
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# The model ships in the image so a replica never starts without one; mount another over it
# to change models without a rebuild.
COPY --chown=triage:triage models /app/models
USER triage
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2); sys.exit(0)"]
# Exec form: SIGTERM reaches the service, which commits the batch in hand and exits 0.
ENTRYPOINT ["triage", "serve"]
