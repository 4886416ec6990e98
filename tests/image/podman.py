"""Containers of the image test, run with podman on the host network (so they reach the test
session's own Kafka and SecantusDB on loopback), removed when the test ends."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.image import env as podman_env


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["podman", *args],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        )
    return done


# Every container the test starts carries it, so a session killed before its cleanup leaves
# nothing that the next one does not remove.
LABEL = "hotline-triage-test=1"


def remove_leftovers() -> None:
    """Remove the containers of earlier test sessions (by label, never by name pattern)."""
    found = podman("ps", "--all", "--quiet", "--filter", f"label={LABEL}").stdout.split()
    if found:
        podman("rm", "--force", "--time", "5", *found, check=False)


@dataclass
class Container:
    name: str

    def logs(self) -> str:
        out = podman("logs", self.name)
        return out.stdout + out.stderr

    def log_lines(self) -> list[dict[str, Any]]:
        """Every line the container printed, each of which must be one JSON object."""
        lines = []
        for text in self.logs().splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                raise AssertionError(
                    f"{self.name} printed a line that is not JSON: {text}"
                ) from None
        return lines

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.log_lines() if line.get("event") == name]

    def state(self) -> dict[str, Any]:
        out = podman("inspect", "--format", "{{json .State}}", self.name).stdout
        state: dict[str, Any] = json.loads(out)
        return state

    def stop(self, grace: int) -> float:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the seconds it took."""
        started = time.monotonic()
        podman("stop", "--time", str(grace), self.name, timeout=grace + 60)
        return time.monotonic() - started

    def healthcheck(self) -> subprocess.CompletedProcess[str]:
        return podman("healthcheck", "run", self.name, check=False)

    def remove(self) -> None:
        podman("rm", "--force", "--time", "5", self.name, check=False)


@dataclass
class Containers:
    """The containers one test started; all removed at the end, whatever happened."""

    image: str
    started: list[Container] = field(default_factory=list)

    def run(
        self,
        env: Mapping[str, str],
        mounts: Sequence[tuple[Path, str]] = (),
        entrypoint: str | None = None,
        args: Sequence[str] = (),
        detach: bool = True,
    ) -> Container:
        container = Container(f"triage-test-{uuid.uuid4().hex[:8]}")
        argv = ["run", "--name", container.name, "--label", LABEL, "--network", "host"]
        argv += ["--detach"] if detach else []
        for key, value in env.items():
            argv += ["--env", f"{key}={value}"]
        for source, target in mounts:
            argv += ["--volume", f"{source}:{target}:ro"]
        if entrypoint is not None:
            argv += ["--entrypoint", entrypoint]
        self.started.append(container)
        podman(*argv, self.image, *args, timeout=600)
        return container

    def close(self) -> None:
        for container in self.started:
            container.remove()
        self.started.clear()


def wait_http(url: str, container: Container, within: float = 120) -> float:
    """Seconds until ``url`` answers 200; fails with the container's logs if it never does."""
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > within or not container.state()["Running"]:
            raise AssertionError(f"{url} never answered:\n{container.logs()}")
        time.sleep(0.3)
