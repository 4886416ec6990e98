"""Local model folders as a cache of the versions stored in MongoDB.

Every version that routes (activated, promoted, in shadow) or that a trainer pushes is stored
with its files' sha256 (``triage.adapters.store.model_files``); a replica that lacks a
version's folder copies it from the store into its models folder, checking every file against
the sha256 recorded when the version was stored, and refuses it on a mismatch. The folder is
written under a temporary name and renamed into place, so a reader never sees half of one.

At start a replica stores the default model of its models folder (the one ``ACTIVE`` names;
the shipped one when the folder has none) if the store lacks it, and records it as the first
activation when there is none yet, so that all replicas agree on one version from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from triage.adapters.artifact import ACTIVE, MANIFEST, WEIGHTS
from triage.adapters.store import ModelFiles, TicketStore
from triage.adapters.store.model_files import sha256
from triage.core.errors import TriageError

__all__ = [
    "ModelStoreError",
    "default_folder",
    "fetch_version",
    "folder_files",
    "push_folder",
    "push_to_store",
    "replica_name",
    "startup_folder",
    "stored_manifests",
]

log = structlog.get_logger("triage.adapters.model_cache")

# A version becomes a folder name: nothing that could climb out of the models folder.
_VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class ModelStoreError(TriageError):
    """A version the store cannot take or give back intact; ``version`` names it."""

    def __init__(self, version: str, reason: str) -> None:
        self.version = version
        self.reason = reason
        super().__init__(f"model {version!r} in the store: {reason}")


def replica_name() -> str:
    return os.environ.get("HOSTNAME", "") or str(os.getpid())


def valid_version(version: str) -> bool:
    return _VERSION_RE.fullmatch(version) is not None and ".." not in version


def folder_files(folder: Path) -> dict[str, bytes]:
    """The regular files at the top of a model folder (hidden ones are temporary)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


async def push_folder(files: ModelFiles, folder: Path, *, version: str | None = None) -> bool:
    """Store ``folder`` as ``version`` (default: its name); False when it was stored already.

    The same version with other weights is refused: a version names one model everywhere.
    """
    version = version or folder.name
    if not valid_version(version):
        raise ModelStoreError(version, "not a usable version name (letters, digits, . _ -)")
    data = await asyncio.to_thread(folder_files, folder)
    if MANIFEST not in data:
        raise ModelStoreError(version, f"{folder} holds no {MANIFEST}: not a model folder")
    try:
        manifest = data[MANIFEST].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelStoreError(version, f"{MANIFEST} is not UTF-8") from exc
    if await files.put(version, data, manifest, replica_name()):
        log.info("model stored", model_version=version, files=len(data))
        return True
    existing = await files.get(version)
    key = WEIGHTS if WEIGHTS in data else MANIFEST
    recorded = {f.name: f.sha256 for f in existing.files} if existing else {}
    if existing is not None and recorded.get(key) != sha256(data[key]):
        raise ModelStoreError(
            version,
            f"already stored with another {key} (sha256 {recorded.get(key)}, this folder's is "
            f"{sha256(data[key])}); give the new model a version of its own",
        )
    return False


async def fetch_version(files: ModelFiles, root: Path, version: str) -> Path | None:
    """``root/version``, copied from the store and verified; None when the store lacks it."""
    if not valid_version(version):
        return None
    stored = await files.get(version)
    if stored is None:
        return None
    contents: dict[str, bytes] = {}
    for file in stored.files:
        data = await files.read(file)
        got = sha256(data)
        if got != file.sha256 or len(data) != file.size:
            raise ModelStoreError(
                version,
                f"{file.name} read back has sha256 {got} ({len(data)} bytes), not the "
                f"{file.sha256} ({file.size} bytes) recorded when it was stored; refusing it",
            )
        contents[file.name] = data
    folder = await asyncio.to_thread(_write_folder, root, version, contents)
    log.info("model fetched from the store", model_version=version, files=len(contents))
    return folder


def _write_folder(root: Path, version: str, contents: dict[str, bytes]) -> Path:
    final = root / version
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".fetch-{version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for name, data in contents.items():
            (tmp / name).write_bytes(data)
        try:
            tmp.rename(final)
        except OSError:
            # Another process sharing the folder renamed its copy first: the same files.
            if not (final / MANIFEST).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


async def stored_manifests(files: ModelFiles, limit: int = 200) -> dict[str, dict[str, Any]]:
    """The manifests of the newest ``limit`` stored versions, by version."""
    out: dict[str, dict[str, Any]] = {}
    for stored in await files.versions(limit):
        with contextlib.suppress(ValueError):
            manifest = json.loads(stored.manifest)
            if isinstance(manifest, dict):
                out[stored.version] = manifest
    return out


async def push_to_store(
    mongodb_uri: str, db: str, folder: Path, *, timeout_ms: int = 3_000
) -> tuple[str, bool]:
    """Verify the model in ``folder`` by loading it, then store it in ``db``'s model store.

    Returns its version and whether it was stored now (False: it was there already).
    """
    from triage.adapters.artifact import load_model
    from triage.adapters.store import MongoModelFiles, MongoTicketStore

    # Only a model that loads here may be stored: the store never hands out a broken one.
    model = await asyncio.to_thread(load_model, folder)
    store = MongoTicketStore(mongodb_uri, db, timeout_ms=timeout_ms)
    try:
        await store.ping()
        files = MongoModelFiles(store)
        await files.ensure_indexes()
        return model.version, await push_folder(files, folder, version=model.version)
    finally:
        await store.close()


def default_folder(root: Path, shipped: Path) -> Path:
    """The folder ``root/ACTIVE`` names, else the one ``shipped/ACTIVE`` names."""
    for where in (root, shipped):
        pointer = where / ACTIVE
        if pointer.is_file():
            return where / pointer.read_text("utf-8").strip()
    raise ModelStoreError("(none)", f"neither {root} nor {shipped} has an {ACTIVE} file")


async def startup_folder(files: ModelFiles, store: TicketStore, root: Path, default: Path) -> Path:
    """The folder of the version to start with: the latest activation's, fetched if need be.

    ``default`` is stored first and, when no activation is recorded yet, recorded as the
    first one; of two replicas starting at once one record wins and both start with it. A
    version the store cannot give back intact is logged, and the replica starts with
    ``default`` (the poll of activations keeps reporting it).
    """
    try:
        await push_folder(files, default)
    except ModelStoreError as exc:
        log.error("default model not stored", error=str(exc))  # noqa: TRY400 - the message says it
    recent = await store.activations(1)
    if not recent:
        first = {
            "_id": 1,
            "version": default.name,
            "kind": "initial",
            "rollback_to": None,
            "by": replica_name(),
            "at": datetime.now(UTC),
        }
        recent = [first] if await store.add_activation(first) else await store.activations(1)
    version = str(recent[0]["version"])
    if version == default.name or not valid_version(version):
        return default
    local = root / version
    if (local / MANIFEST).is_file():
        return local
    try:
        folder = await fetch_version(files, root, version)
    except ModelStoreError as exc:
        log.error("active model refused; starting with the default", error=str(exc))  # noqa: TRY400
        return default
    if folder is None:
        log.error(
            "active model is not in the model store; starting with the default",
            model_version=version,
            default=default.name,
        )
        return default
    return folder
