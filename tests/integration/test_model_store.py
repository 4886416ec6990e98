"""The model store on the real MongoDB-protocol server: GridFS files and their commit record."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bson import Binary

from tests.servers import MongoServer
from triage.adapters.artifact import active_model_path, load_model
from triage.adapters.model_cache import ModelStoreError, fetch_version, push_folder, startup_folder
from triage.adapters.store import MongoModelFiles, MongoTicketStore
from triage.core.settings import MODELS_DIR

pytestmark = pytest.mark.integration


@pytest.fixture
async def stores(mongo_server: MongoServer) -> AsyncIterator[list[MongoTicketStore]]:
    """Two clients on one fresh database, as two replicas have."""
    db = f"models{uuid.uuid4().hex[:8]}"
    both = [MongoTicketStore(mongo_server.uri, db) for _ in range(2)]
    await MongoModelFiles(both[0]).ensure_indexes()
    yield both
    for store in both:
        await store.close()


async def test_concurrent_first_push_stores_one_copy_that_loads_elsewhere(
    stores: list[MongoTicketStore], tmp_path: Path
) -> None:
    """Two replicas pushing the shipped model at once commit it once and leave no orphan
    files; a replica with an empty models folder fetches it and it loads, checksum and all."""
    shipped = active_model_path(MODELS_DIR)
    a, b = (MongoModelFiles(s) for s in stores)
    results = await asyncio.gather(push_folder(a, shipped), push_folder(b, shipped))
    assert sorted(results) == [False, True]
    db = stores[0].tickets.database
    assert await db["model_versions"].count_documents({}) == 1
    names = {p.name for p in shipped.iterdir() if p.is_file()}
    assert await db["models.files"].count_documents({}) == len(names)
    assert await push_folder(b, shipped) is False

    folder = await fetch_version(b, tmp_path / "cache", shipped.name)
    assert folder is not None
    for name in names:
        assert (folder / name).read_bytes() == (shipped / name).read_bytes()
    assert load_model(folder).version == shipped.name


async def test_a_corrupted_chunk_is_refused_on_fetch(
    stores: list[MongoTicketStore], tmp_path: Path
) -> None:
    """Weights changed in GridFS after they were stored are refused with the file named."""
    source = tmp_path / "src" / "v-corrupt"
    shutil.copytree(active_model_path(MODELS_DIR), source)
    files = MongoModelFiles(stores[0])
    await push_folder(files, source)
    db = stores[0].tickets.database
    stored = await db["model_versions"].find_one({"_id": "v-corrupt"})
    weights = next(f for f in stored["files"] if f["name"] == "weights.npz")
    chunk = await db["models.chunks"].find_one({"files_id": weights["id"], "n": 0})
    data = bytearray(chunk["data"])
    data[100] ^= 0xFF
    await db["models.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": Binary(data)}})
    with pytest.raises(ModelStoreError, match=r"weights\.npz read back has sha256"):
        await fetch_version(MongoModelFiles(stores[1]), tmp_path / "cache", "v-corrupt")
    assert not (tmp_path / "cache" / "v-corrupt").exists()


async def test_two_replicas_starting_at_once_record_one_initial_activation(
    stores: list[MongoTicketStore], tmp_path: Path
) -> None:
    """Replicas starting together on an empty store agree on one version, recorded once."""
    shipped = active_model_path(MODELS_DIR)
    other = tmp_path / "b" / "renamed-copy"
    shutil.copytree(shipped, other)
    chosen = await asyncio.gather(
        startup_folder(MongoModelFiles(stores[0]), stores[0], tmp_path / "a", shipped),
        startup_folder(MongoModelFiles(stores[1]), stores[1], tmp_path / "b", other),
    )
    (record,) = await stores[0].activations(5)
    assert record["kind"] == "initial"
    assert {c.name for c in chosen} == {record["version"]}
