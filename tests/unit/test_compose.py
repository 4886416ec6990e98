"""deploy/docker-compose.yml: what a deployment relies on, read from the file itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _services() -> dict[str, Any]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text("utf-8"))
    services: dict[str, Any] = compose["services"]
    return services


def _replicas() -> dict[str, Any]:
    return {name: s for name, s in _services().items() if name.startswith("triage")}


def test_kafka_keeps_its_logs_on_the_volume() -> None:
    """Topics and committed offsets are written to the mounted volume, not the container."""
    kafka = _services()["kafka"]
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
    mounted = [v.split(":")[1] for v in kafka["volumes"]]
    assert log_dirs in mounted


def test_kafka_is_the_version_the_tests_run_on() -> None:
    """The broker image's version is the one deploy/kafka/pom.xml fetches for the tests."""
    pom = (DEPLOY / "kafka" / "pom.xml").read_text("utf-8")
    tested = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert tested is not None
    assert _services()["kafka"]["image"] == f"apache/kafka:{tested.group(1)}"


def test_replicas_share_one_image_built_once() -> None:
    """Every replica names the same image; exactly one of them builds it."""
    replicas = _replicas()
    assert len(replicas) >= 2
    assert {s["image"] for s in replicas.values()} == {"hotline-triage:latest"}
    assert sum("build" in s for s in replicas.values()) == 1


def test_published_ports_are_on_loopback_only() -> None:
    """/metrics and the health routes (no token) are not published on every interface."""
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)


def test_replicas_mount_no_model_state() -> None:
    """Only the tokens file is mounted into a replica: no models volume of its own."""
    for name, service in _replicas().items():
        targets = [
            v["target"] if isinstance(v, dict) else v.split(":")[1] for v in service["volumes"]
        ]
        assert targets == ["/run/triage/tokens.toml"], name
