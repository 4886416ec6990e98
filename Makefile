# The two commands: `make run` (the main job on a fresh machine) and `make test` (every test).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SHARED ?= ../shared/data/messages

.PHONY: install run test lint typecheck unit bench model image stack-up stack-down clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Python packages, the dashboard's ECharts from npm, then the Apache Kafka broker jars from
# Maven Central (cached in var/kafka).
install: $(VENV)/.installed triage/static/echarts.min.js /usr/bin/chromium /usr/bin/buildah
	$(PY) -c "from pathlib import Path; from triage.adapters.stack import ensure_kafka_jars; ensure_kafka_jars(Path('.'))"

# The browser tests drive Debian's Chromium, with CJK fonts for the Chinese pages.
/usr/bin/chromium:
	apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
	|| (apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk)

# The image is built and tested without a Docker engine: Debian's daemonless buildah and podman,
# runc (crun cannot start containers on hybrid cgroups), debootstrap for the stand-in base images.
/usr/bin/buildah:
	apt-get install -y --no-install-recommends buildah podman runc debootstrap \
	|| (apt-get update && apt-get install -y --no-install-recommends buildah podman runc debootstrap)

# Served by the service itself (no CDN); not committed.
triage/static/echarts.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	cp node_modules/echarts/dist/echarts.min.js $@

run: install
	$(PY) scripts/run_demo.py

# Style, formatting, and the architecture's import contracts (pyproject.toml [tool.importlinter]).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy

# Lint, types, then unit and integration tests (the integration fixtures start Apache Kafka and
# SecantusDB on free ports and stop them by pid at the end).
test: lint typecheck
	$(VENV)/bin/pytest

unit: install
	$(VENV)/bin/pytest tests/unit tests/training

bench: install
	$(PY) bench/classify.py --json bench/out/classify.json
	$(PY) bench/pipeline.py --json bench/out/pipeline.json
	$(PY) bench/store_writes.py --json bench/out/store_writes.json
	$(PY) bench/api.py --json bench/out/api.json
	$(PY) bench/hotspots.py --json bench/out/hotspots.json
	$(PY) bench/retrain.py --json bench/out/retrain.json
	$(PY) bench/stats.py --n 200000 --days 67 --json bench/out/stats.json

# Reproduces the shipped model from the shared messages (never copied into the repository).
model: install
	$(VENV)/bin/triage train --data $(SHARED)/train.jsonl --models-dir models --compare --repeats 5 --activate \
		--force --reason "the shipped model, retrained from the base data"

# The service image from the committed tree (git archive HEAD), with buildah; README, "Running
# with Docker".
image: install
	$(PY) scripts/image.py --tag localhost/hotline-triage:latest

stack-up: install
	$(VENV)/bin/triage stack up

stack-down: install
	$(VENV)/bin/triage stack down

clean:
	rm -rf var/stack bench/out .pytest_cache .mypy_cache .ruff_cache
