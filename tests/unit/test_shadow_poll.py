"""Replicas follow the shadow document: start, stop, and no shadow once it is promoted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.fakes import analyzer
from triage.adapters.activation import FolderCatalog, ModelSlot
from triage.adapters.shadow import poll_shadow
from triage.adapters.store import MemoryShadowState


def _catalog(root: Path) -> FolderCatalog:
    for version in ("v1", "v2"):
        (root / version).mkdir(parents=True)
        (root / version / "manifest.json").write_text(json.dumps({"version": version}))
    return FolderCatalog(root, load=lambda path: analyzer(path.name))


async def _until(check: object, within: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "not followed in time"
        await asyncio.sleep(0.01)


async def test_replica_follows_start_stop_and_promotion(tmp_path: Path) -> None:
    """Another replica's start is loaded within a poll and reaches the consumer's analyzer; a
    stop clears it; a shadow that became the active model is not scored twice."""
    slot = ModelSlot(analyzer("v1"))
    seen: list[str | None] = []
    slot.listeners.append(lambda a: seen.append(a.shadow.version if a.shadow else None))
    state, stop = MemoryShadowState(), asyncio.Event()
    poller = asyncio.create_task(
        poll_shadow(slot=slot, catalog=_catalog(tmp_path), state=state, interval_s=0.01, stop=stop)
    )
    try:
        await state.set("v2", "other-replica")
        await _until(lambda: slot.shadow_version == "v2")
        assert seen[-1] == "v2" and slot.version == "v1"
        await state.set(None, "other-replica")
        await _until(lambda: slot.shadow_version is None)
        await state.set("v2", "other-replica")
        await _until(lambda: slot.shadow_version == "v2")
        slot.swap(analyzer("v2"))  # v2 promoted: it routes now
        await asyncio.sleep(0.1)
        assert slot.version == "v2" and slot.shadow_version is None
    finally:
        stop.set()
        await poller
