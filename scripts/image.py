"""Build the service image without a Docker engine: `make image`, and the image test.

Builds from ``git archive`` of a commit (HEAD by default), never from the work tree, so the
image is what a clean checkout gives. Uses Debian's daemonless ``buildah`` (chroot isolation,
host network, Docker format) with the settings of ``deploy/image/containers.conf``.

Docker Hub is not reachable from these machines, so the base images that the Dockerfile names
(``python:3.11-slim``, ``node:20-bookworm-slim``) are replaced by local stand-ins, passed in
through the Dockerfile's ``PYTHON_IMAGE`` and ``NODE_IMAGE`` build arguments. Each is built
once from Debian bookworm with ``debootstrap`` and kept in the machine's container storage
under a tag that is a hash of its recipe, so later builds reuse it. How they differ from the
official images is written in the README ("Running with Docker", "Stand-in base images").

    .venv/bin/python scripts/image.py [--tag localhost/hotline-triage:latest] [--ref HEAD]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = ROOT / "deploy" / "image" / "containers.conf"
TAG = "localhost/hotline-triage:latest"
STANDINS = "localhost/hotline-triage-standin"
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
# The machine's CA bundle, so pip and npm inside the build reach the registries through the
# same trust as the host does.
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_CA = "/etc/ssl/certs/ca-certificates.crt"
# Bump to rebuild every stand-in when the recipe below changes.
RECIPE = "1"
SOURCES = f"""Types: deb
URIs: {MIRROR}
Suites: {SUITE} {SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: {SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "SSL_CERT_FILE": IMAGE_CA,
    "PIP_CERT": IMAGE_CA,
    "REQUESTS_CA_BUNDLE": IMAGE_CA,
    "NODE_EXTRA_CA_CERTS": IMAGE_CA,
}


def env() -> dict[str, str]:
    """The environment for buildah and podman: runc and explicit ulimits (containers.conf)."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def run(argv: Sequence[str | Path], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(a) for a in argv], check=True, env=env(), **kwargs)  # type: ignore[call-overload,no-any-return]


def image_exists(name: str) -> bool:
    found = subprocess.run(["podman", "image", "exists", name], env=env(), check=False)
    return found.returncode == 0


def _python_extra(rootfs: Path) -> None:
    # The official image's `python`, `python3`, `pip` and `pip3` on PATH, and no PEP 668 marker.
    local = rootfs / "usr/local/bin"
    for name in ("python", "python3"):
        (local / name).symlink_to("/usr/bin/python3.11")
    for name in ("pip", "pip3"):
        (local / name).write_text('#!/bin/sh\nexec /usr/bin/python3.11 -m pip "$@"\n')
        (local / name).chmod(0o755)
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)


def _node_extra(rootfs: Path) -> None:
    # The machine's own Node.js and npm (same Debian release, so the same C libraries).
    shutil.copy2(shutil.which("node") or "/usr/bin/node", rootfs / "usr/local/bin/node")
    modules = rootfs / "usr/local/lib/node_modules"
    modules.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_npm_dir(), modules / "npm", symlinks=True)
    (rootfs / "usr/local/bin/npm").symlink_to("../lib/node_modules/npm/bin/npm-cli.js")
    (rootfs / "usr/local/bin/npx").symlink_to("../lib/node_modules/npm/bin/npx-cli.js")


def _npm_dir() -> Path:
    return Path(os.path.realpath(shutil.which("npm") or "/usr/bin/npm")).parents[1]


def _node_version() -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    npm = (_npm_dir() / "package.json").read_bytes()
    return node.stdout.strip() + hashlib.sha256(npm).hexdigest()


@dataclass(frozen=True)
class Standin:
    """A local image in place of an official base image the Dockerfile names."""

    official: str
    build_arg: str
    packages: tuple[str, ...]
    customise: Callable[[Path], None]
    cmd: str
    version: Callable[[], str] = lambda: ""

    def key(self) -> str:
        digest = hashlib.sha256()
        for part in (RECIPE, SUITE, MIRROR, SOURCES, *self.packages, self.cmd, self.version()):
            digest.update(part.encode() + b"\0")
        digest.update(HOST_CA.read_bytes())
        return digest.hexdigest()[:16]

    def name(self) -> str:
        repo = self.official.split(":")[0]
        return f"{STANDINS}/{repo}:{self.key()}"


PYTHON = Standin(
    official="python:3.11-slim",
    build_arg="PYTHON_IMAGE",
    # Headers too: the official image has them, and a source-only package needs them.
    packages=("ca-certificates", "python3.11", "python3.11-venv", "python3-pip", "python3.11-dev"),
    customise=_python_extra,
    cmd="python3",
)
NODE = Standin(
    official="node:20-bookworm-slim",
    build_arg="NODE_IMAGE",
    packages=("ca-certificates",),
    customise=_node_extra,
    cmd="node",
    version=_node_version,
)


def _unmount_under(folder: Path) -> None:
    # debootstrap mounts /proc and /sys in the tree; a failed run can leave them there.
    mounts = Path("/proc/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if line.split()[1].startswith(str(folder))]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def ensure_standin(standin: Standin, log: Callable[[str], object]) -> str:
    """The stand-in's image name, building it first if this machine does not have it yet."""
    name = standin.name()
    if image_exists(name):
        return name
    log(f"building the stand-in for {standin.official}: {name}")
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="standin-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        try:
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(standin.packages)}",
                    SUITE,
                    rootfs,
                    MIRROR,
                ],
                stdout=subprocess.DEVNULL,
            )
            (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
            (rootfs / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES)
            shutil.copyfile(HOST_CA, rootfs / IMAGE_CA.lstrip("/"))
            for cached in (rootfs / "var/cache/apt/archives").glob("*.deb"):
                cached.unlink()
            shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
            (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True)
            standin.customise(rootfs)
            changes = [f"ENV {k}={v}" for k, v in BASE_ENV.items()] + [f'CMD ["{standin.cmd}"]']
            argv: list[str | Path] = ["podman", "import", "--quiet"]
            for change in changes:
                argv += ["--change", change]
            with subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE) as tar:
                run([*argv, "-", name], stdin=tar.stdout, stdout=subprocess.DEVNULL)
            if tar.returncode != 0:
                raise RuntimeError(f"tar of {rootfs} failed")
        finally:
            _unmount_under(rootfs)
    return name


def build(tag: str, ref: str, log: Callable[[str], object]) -> float:
    """Build the image from ``git archive ref``; returns the seconds the buildah build took."""
    args = [f"{s.build_arg}={ensure_standin(s, log)}" for s in (PYTHON, NODE)]
    with tempfile.TemporaryDirectory(prefix="triage-image-") as tmp:
        with subprocess.Popen(["git", "archive", ref], cwd=ROOT, stdout=subprocess.PIPE) as archive:
            subprocess.run(["tar", "-x", "-C", tmp], stdin=archive.stdout, check=True)
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {ref} failed")
        argv = [
            "buildah",
            "bud",
            "--isolation",
            "chroot",
            "--network",
            "host",
            "--format",
            "docker",
            "--layers",
            "--tag",
            tag,
        ]
        for arg in args:
            argv += ["--build-arg", arg]
        started = time.monotonic()
        run([*argv, tmp])
        return time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=TAG)
    parser.add_argument("--ref", default="HEAD", help="the commit to build (git archive)")
    args = parser.parse_args(argv)
    seconds = build(args.tag, args.ref, log=lambda s: sys.stderr.write(s + "\n"))
    sys.stderr.write(f"built {args.tag} from {args.ref} in {seconds:.0f} s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
