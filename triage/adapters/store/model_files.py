"""Model artifacts in MongoDB, so that every replica can load every version.

The files of a model folder go into the GridFS bucket ``models`` (``models.files``,
``models.chunks``); one document per version in ``model_versions`` lists them with their
sha256 and is written last, with ``insert_one`` on ``_id = version``. That document is the
commit: a reader only ever follows file ids that a committed document lists, so a half-done
upload is never seen, and of two replicas storing the same version at once exactly one
insert wins; the other deletes the files it uploaded and reports the version as already
stored. ``MemoryModelFiles`` keeps the same contract in memory for unit tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from gridfs import AsyncGridFSBucket
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError, PyMongoError

from triage.adapters.store.mongo import MongoTicketStore, translate_error
from triage.adapters.store.records import Doc
from triage.core.errors import StoreUnavailableError

__all__ = ["MemoryModelFiles", "ModelFiles", "MongoModelFiles", "StoredFile", "StoredModel"]

BUCKET = "models"
VERSIONS = "model_versions"


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str
    sha256: str
    size: int
    file_id: Any


@dataclass(frozen=True, slots=True)
class StoredModel:
    """A committed version: its files as recorded when it was stored, and its manifest text."""

    version: str
    files: tuple[StoredFile, ...]
    manifest: str
    at: datetime
    by: str


class ModelFiles(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def get(self, version: str) -> StoredModel | None: ...
    async def versions(self, limit: int) -> list[StoredModel]: ...
    async def read(self, file: StoredFile) -> bytes: ...
    async def put(self, version: str, files: Mapping[str, bytes], manifest: str, by: str) -> bool:
        """Store ``files`` as ``version``; False when the version was already stored."""
        ...


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _stored(doc: Doc) -> StoredModel:
    return StoredModel(
        version=str(doc["_id"]),
        files=tuple(
            StoredFile(str(f["name"]), str(f["sha256"]), int(f["size"]), f["id"])
            for f in doc["files"]
        ),
        manifest=str(doc["manifest"]),
        at=doc["at"],
        by=str(doc.get("by", "")),
    )


class MongoModelFiles:
    """GridFS and ``model_versions`` in the ticket store's database, on its client."""

    def __init__(self, store: MongoTicketStore) -> None:
        db: Any = store.tickets.database
        self._db = db
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET)
        self._versions: Any = db[VERSIONS]

    async def ensure_indexes(self) -> None:
        # GridFS would create these at its first upload, racing another replica's upload into
        # the same new collection: made up front, like every other index of the service.
        try:
            await self._db[f"{BUCKET}.files"].create_indexes(
                [IndexModel([("filename", 1), ("uploadDate", 1)])]
            )
            await self._db[f"{BUCKET}.chunks"].create_indexes(
                [IndexModel([("files_id", 1), ("n", 1)], unique=True)]
            )
            await self._versions.create_indexes([IndexModel([("at", -1)])])
        except PyMongoError as exc:
            raise translate_error(exc) from exc

    async def get(self, version: str) -> StoredModel | None:
        try:
            doc: Doc | None = await self._versions.find_one({"_id": version})
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return None if doc is None else _stored(doc)

    async def versions(self, limit: int) -> list[StoredModel]:
        try:
            docs: list[Doc] = await self._versions.find({}).sort("at", -1).to_list(limit)
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return [_stored(d) for d in docs]

    async def read(self, file: StoredFile) -> bytes:
        try:
            stream = await self._bucket.open_download_stream(file.file_id)
            data: bytes = await stream.read()
        except PyMongoError as exc:
            raise translate_error(exc) from exc
        return data

    async def put(self, version: str, files: Mapping[str, bytes], manifest: str, by: str) -> bool:
        if await self.get(version) is not None:
            return False
        uploaded: list[Any] = []
        try:
            listed = []
            for name, data in sorted(files.items()):
                file_id = await self._bucket.upload_from_stream(
                    f"{version}/{name}", data, metadata={"version": version, "sha256": sha256(data)}
                )
                uploaded.append(file_id)
                listed.append(
                    {"name": name, "id": file_id, "sha256": sha256(data), "size": len(data)}
                )
            doc = {
                "_id": version,
                "files": listed,
                "manifest": manifest,
                "at": datetime.now(UTC),
                "by": by,
            }
            try:
                await self._versions.insert_one(doc)
            except DuplicateKeyError:
                await self._discard(uploaded)
                return False
        except PyMongoError as exc:
            await self._discard(uploaded)
            raise translate_error(exc) from exc
        return True

    async def _discard(self, ids: list[Any]) -> None:
        """Delete files no committed version lists (best effort: they are never read)."""
        for file_id in ids:
            try:
                await self._bucket.delete(file_id)
            except Exception:  # noqa: BLE001, S112 - an orphan costs space, never correctness
                continue


@dataclass
class MemoryModelFiles:
    """The same contract in memory; ``blobs`` holds the bytes by file id (tests may corrupt
    them), ``down`` fails every call as if MongoDB were unreachable."""

    docs: dict[str, StoredModel] = field(default_factory=dict)
    blobs: dict[int, bytes] = field(default_factory=dict)
    down: bool = False
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailableError("memory store is down")

    async def ensure_indexes(self) -> None:
        self._check()

    async def get(self, version: str) -> StoredModel | None:
        self._check()
        return self.docs.get(version)

    async def versions(self, limit: int) -> list[StoredModel]:
        self._check()
        return sorted(self.docs.values(), key=lambda d: d.at, reverse=True)[:limit]

    async def read(self, file: StoredFile) -> bytes:
        self._check()
        return self.blobs[file.file_id]

    async def put(self, version: str, files: Mapping[str, bytes], manifest: str, by: str) -> bool:
        self._check()
        if version in self.docs:
            return False
        listed = []
        for name, data in sorted(files.items()):
            file_id = next(self._ids)
            self.blobs[file_id] = bytes(data)
            listed.append(StoredFile(name, sha256(data), len(data), file_id))
            # Uploads take turns with other writers, as they do over the network.
            await asyncio.sleep(0)
        if version in self.docs:  # the commit lost: as the unique _id refuses it in MongoDB
            for f in listed:
                del self.blobs[f.file_id]
            return False
        self.docs[version] = StoredModel(version, tuple(listed), manifest, datetime.now(UTC), by)
        return True
