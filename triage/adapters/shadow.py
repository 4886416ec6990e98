"""A candidate model in shadow: every replica scores each live batch with it too.

Its top label and confidence are stored beside the decision (``shadow`` in the ticket
document) and it routes nothing. Starting or stopping writes the one ``model_shadow``
document; every replica polls it, as it polls activations, and loads the version off the
event loop, so the next batch is scored by it (or no longer).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import structlog

from triage.adapters.activation import (
    ActivationError,
    FolderCatalog,
    ModelSlot,
    _load,
    _publish,
)
from triage.adapters.store import ShadowState
from triage.core.errors import TriageError

__all__ = ["poll_shadow", "start_shadow", "stop_shadow"]

log = structlog.get_logger("triage.adapters.shadow")


def _by() -> str:
    return os.environ.get("HOSTNAME", "") or str(os.getpid())


async def start_shadow(
    version: str,
    *,
    slot: ModelSlot,
    catalog: FolderCatalog,
    state: ShadowState,
    registry_labels: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Run ``version`` in shadow on every replica; it must load and fit the registry."""
    async with slot.lock:
        if version == slot.version:
            raise ActivationError(f"model {version!r} is the active one", status=409)
        analyzer = await _load(catalog, version)
        missing = sorted(set(analyzer.classifier.labels) - (registry_labels or frozenset()))
        if registry_labels is not None and missing:
            raise ActivationError(
                f"model {version!r} predicts labels the department registry does not have: "
                f"{', '.join(missing)}",
                status=422,
            )
        previous = slot.shadow_version
        await _publish(catalog, version)  # every replica must be able to load it
        await state.set(version, _by())
        slot.set_shadow(analyzer.classifier)
        return {"shadow": version, "previous": previous, "active": slot.version}


async def stop_shadow(version: str, *, slot: ModelSlot, state: ShadowState) -> dict[str, Any]:
    """Stop the shadow ``version`` (409 when another one, or none, runs in shadow)."""
    async with slot.lock:
        current = await state.current()
        running = current.get("version") if current else None
        if running != version:
            raise ActivationError(
                f"model {version!r} is not in shadow (running: {running or 'none'})", status=409
            )
        await state.set(None, _by())
        slot.set_shadow(None)
        return {"shadow": None, "previous": version, "active": slot.version}


async def poll_shadow(
    *,
    slot: ModelSlot,
    catalog: FolderCatalog,
    state: ShadowState,
    interval_s: float,
    stop: asyncio.Event,
) -> None:
    """Until ``stop`` is set: follow the shadow document, whichever replica wrote it."""
    refused: str | None = None
    while not stop.is_set():
        wanted: str | None = None
        try:
            current = await state.current()
            wanted = current.get("version") if current else None
            if wanted == slot.version:
                wanted = None  # promoted: it routes now, scoring it twice would tell nothing
            # A version this replica could not load is not retried until another is asked for.
            if wanted != slot.shadow_version and (wanted is None or wanted != refused):
                async with slot.lock:
                    if wanted is None:
                        slot.set_shadow(None)
                    elif wanted != slot.shadow_version:
                        slot.set_shadow((await _load(catalog, wanted)).classifier)
        except ActivationError as exc:
            refused = wanted
            log.error(  # noqa: TRY400 - the reason is the message
                "shadow model cannot be used here", model_version=wanted, error=str(exc)
            )
        except TriageError as exc:
            log.warning("shadow poll failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
