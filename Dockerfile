# The triage service: `triage serve` (Kafka consumer + HTTP API), non-root, with the default model.
# Build from the repository root:  make image  (or: docker build -t hotline-triage .)
# The final stage holds only what the service loads at run time: no compiler, no Node, none of
# the extras (local servers, plotting, test tools).
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# ECharts, exactly as package-lock.json pins it; the dashboard serves it itself (no CDN).
FROM ${NODE_IMAGE} AS echarts
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error --ignore-scripts

# jieba_fast has only a source release: the build stage has the compiler the final one lacks.
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/triage
ENV PATH=/opt/triage/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies first, from pyproject.toml alone: a code change rebuilds only the last layers.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --use-pep517 -r requirements.txt
COPY README.md ./
COPY triage ./triage
COPY streams ./streams
COPY training ./training
COPY --from=echarts /src/node_modules/echarts/dist/echarts.min.js ./triage/static/echarts.min.js
# pip is not needed to run the service.
RUN pip install --use-pep517 --no-deps . && pip uninstall --yes pip

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/triage/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TRIAGE_HTTP_HOST=0.0.0.0 TRIAGE_HTTP_PORT=8080 TRIAGE_MODELS_DIR=/app/models
# uid and gid 10001: a mounted tokens file must be readable by this user (README, "Running with
# Docker").
RUN groupadd --gid 10001 triage \
    && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin triage
COPY --from=build /opt/triage /opt/triage
# Fails the build when a file the dashboard's index.html loads is missing (ECharts above all).
RUN python -m triage.service.assets_check
WORKDIR /app
# The default model ships in the image so a replica never starts without one.
COPY --chown=triage:triage models /app/models
USER triage
EXPOSE 8080
# Reads the port the service was configured with, not the default.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TRIAGE_HTTP_PORT', '8080'), timeout=2)"]
# Exec form: SIGTERM reaches the service, which commits the batch in hand and exits 0.
ENTRYPOINT ["triage", "serve"]
