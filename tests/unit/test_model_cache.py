"""Model folders as a cache of the model store: push, fetch, sha256 checks, the first start."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.fakes import analyzer
from triage.adapters.activation import FolderCatalog
from triage.adapters.model_cache import (
    ModelStoreError,
    fetch_version,
    push_folder,
    startup_folder,
)
from triage.adapters.store import MemoryModelFiles, MemoryTicketStore


def model_folder(root: Path, version: str, weights: bytes = b"weights-1") -> Path:
    folder = root / version
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"version": version, "labels": ["a"]}))
    (folder / "weights.npz").write_bytes(weights)
    (folder / "MODEL_CARD.md").write_text("# card\n")
    return folder


async def test_fetch_copies_a_stored_version_byte_for_byte(tmp_path: Path) -> None:
    """A replica lacking a version gets every file of it, identical, in its models folder."""
    files = MemoryModelFiles()
    source = model_folder(tmp_path / "a", "v2")
    assert await push_folder(files, source)
    folder = await fetch_version(files, tmp_path / "b", "v2")
    assert folder == tmp_path / "b" / "v2"
    for name in ("manifest.json", "weights.npz", "MODEL_CARD.md"):
        assert (folder / name).read_bytes() == (source / name).read_bytes()
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["v2"]  # no temporary folder left
    assert await fetch_version(files, tmp_path / "b", "v9") is None


async def test_a_file_that_does_not_match_its_sha256_is_refused(tmp_path: Path) -> None:
    """Bytes read back that differ from the sha256 recorded at push are refused, naming the
    version and the file, and no folder is left behind."""
    files = MemoryModelFiles()
    await push_folder(files, model_folder(tmp_path / "a", "v2"))
    (stored,) = files.docs.values()
    weights = next(f for f in stored.files if f.name == "weights.npz")
    files.blobs[weights.file_id] = b"weights-X"  # same length, other bytes
    with pytest.raises(ModelStoreError, match=r"'v2'.*weights\.npz.*sha256.*refusing"):
        await fetch_version(files, tmp_path / "b", "v2")
    assert not (tmp_path / "b" / "v2").exists()


async def test_two_replicas_pushing_the_same_version_at_once_store_it_once(
    tmp_path: Path,
) -> None:
    """Of two concurrent first pushes one stores the version, the other finds it stored; the
    loser's files are gone and a third push changes nothing."""
    files = MemoryModelFiles()
    folder = model_folder(tmp_path, "v1")
    results = await asyncio.gather(push_folder(files, folder), push_folder(files, folder))
    assert sorted(results) == [False, True]
    assert list(files.docs) == ["v1"]
    assert len(files.blobs) == 3
    assert await push_folder(files, folder) is False
    assert len(files.blobs) == 3


async def test_the_same_version_with_other_weights_is_refused(tmp_path: Path) -> None:
    """A version names one model everywhere: other weights under a stored name are refused."""
    files = MemoryModelFiles()
    await push_folder(files, model_folder(tmp_path / "a", "v1"))
    other = model_folder(tmp_path / "b", "v1", weights=b"weights-2")
    with pytest.raises(ModelStoreError, match=r"already stored with another weights\.npz"):
        await push_folder(files, other)


async def test_a_version_name_that_leaves_the_folder_is_never_fetched(tmp_path: Path) -> None:
    """A version from a URL or a record cannot name a path outside the models folder."""
    files = MemoryModelFiles()
    for bad in ("../x", "..", ".hidden", "a/b"):
        assert await fetch_version(files, tmp_path, bad) is None
    with pytest.raises(ModelStoreError, match="not a usable version name"):
        await push_folder(files, model_folder(tmp_path, "ok"), version="../up")


async def test_first_start_of_two_replicas_stores_and_records_one_default(
    tmp_path: Path,
) -> None:
    """Two replicas starting at once with different defaults agree on the one recorded first;
    the one that lacks its folder fetches it."""
    files, store = MemoryModelFiles(), MemoryTicketStore()
    a = model_folder(tmp_path / "a", "base")
    b = model_folder(tmp_path / "b", "other", weights=b"weights-2")
    first, second = await asyncio.gather(
        startup_folder(files, store, tmp_path / "a", a),
        startup_folder(files, store, tmp_path / "b", b),
    )
    (record,) = await store.activations(5)
    # Either may record first; both then start with the recorded version.
    assert record["kind"] == "initial" and record["version"] in {"base", "other"}
    won = record["version"]
    assert first == tmp_path / "a" / won and second == tmp_path / "b" / won
    weights = b"weights-1" if won == "base" else b"weights-2"
    assert (first / "weights.npz").read_bytes() == (second / "weights.npz").read_bytes() == weights
    assert set(files.docs) == {"base", "other"}
    # A later start follows the record, not its own ACTIVE.
    assert await startup_folder(files, store, tmp_path / "a", a) == tmp_path / "a" / won
    assert await startup_folder(files, store, tmp_path / "b", b) == tmp_path / "b" / won


async def test_activation_stores_the_version_so_another_replica_can_fetch_it(
    tmp_path: Path,
) -> None:
    """Activating a local version stores it first; a catalog that lacks it fetches it, and the
    listing of either shows it."""
    from triage.adapters.activation import ModelSlot, activate

    files, store = MemoryModelFiles(), MemoryTicketStore()
    model_folder(tmp_path / "a", "v1")
    model_folder(tmp_path / "a", "v2")
    here = FolderCatalog(tmp_path / "a", load=lambda p: analyzer(p.name), files=files)
    there = FolderCatalog(tmp_path / "b", load=lambda p: analyzer(p.name), files=files)
    slot = ModelSlot(analyzer("v1"))
    await activate("v2", slot=slot, catalog=here, store=store, force=True, reason="test")
    assert set(files.docs) == {"v1", "v2"}
    assert "v2" in await there.listing()
    assert await there.fetch("v2") == tmp_path / "b" / "v2"


async def test_activation_of_a_version_nowhere_names_the_push_command(tmp_path: Path) -> None:
    """A version neither here nor in the store is a 404 that says how to store one."""
    from triage.adapters.activation import ActivationError, ModelSlot, activate

    catalog = FolderCatalog(tmp_path, load=lambda p: analyzer(p.name), files=MemoryModelFiles())
    with pytest.raises(ActivationError, match="triage models push") as caught:
        await activate(
            "v9", slot=ModelSlot(analyzer("v1")), catalog=catalog, store=MemoryTicketStore()
        )
    assert caught.value.status == 404
