"""Which model version routes tickets, switched without a restart.

Activation writes ``models/ACTIVE`` and appends a record to MongoDB ``model_activations``
(``_id`` is a sequence number, so two trainers activating at once cannot both win). Every
replica polls the latest record every few seconds and, when it names another version, loads
it off the event loop and swaps it into its ``ModelSlot``; the ticket consumer reads the slot
once per batch, so a batch is classified entirely by one model and none is dropped or redone.
Each record keeps ``rollback_to``, the record it replaced, so repeated rollbacks walk back
through the history instead of toggling between two versions.

A version is put into the model store (MongoDB GridFS) before it is recorded, and a replica
that lacks its folder copies it from there (``triage.adapters.model_cache``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from streams.batch import Analyzer
from triage.adapters.model_cache import (
    ModelStoreError,
    fetch_version,
    push_folder,
    stored_manifests,
)
from triage.adapters.store import ModelFiles, TicketStore
from triage.core.domain import Classifier
from triage.core.errors import TriageError
from triage.core.promotion import judge

__all__ = [
    "ActivationError",
    "FolderCatalog",
    "ModelSlot",
    "activate",
    "gate_record",
    "poll_activations",
    "rollback",
]

log = structlog.get_logger("triage.adapters.activation")

Loader = Callable[[Path], Analyzer]


class ActivationError(TriageError):
    """An activation or rollback refused; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)


def load_folder(path: Path) -> Analyzer:
    """The real model in ``path`` with the real text preparation."""
    from triage.adapters.artifact import load_model
    from triage.core.text import prepare

    return Analyzer(prepare=prepare, classifier=load_model(path))


@dataclass
class FolderCatalog:
    """Model versions as folders holding ``manifest.json`` under one directory; with ``files``
    (the model store) the folders are a cache of the versions stored in MongoDB."""

    root: Path
    load: Loader = load_folder
    files: ModelFiles | None = None

    def manifests(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        if not self.root.is_dir():
            return out
        for manifest in sorted(self.root.glob("*/manifest.json")):
            try:
                data = json.loads(manifest.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                out[manifest.parent.name] = data
        return out

    def path(self, version: str) -> Path | None:
        folder = self.root / version
        # The version comes from a URL: only a direct child folder may be named.
        if folder.parent != self.root or not (folder / "manifest.json").is_file():
            return None
        return folder

    async def fetch(self, version: str) -> Path | None:
        """The folder of ``version``, copied from the model store first if it is not here."""
        local = self.path(version)
        if local is not None or self.files is None:
            return local
        return await fetch_version(self.files, self.root, version)

    async def publish(self, version: str) -> None:
        """Put the folder of ``version`` into the model store, so every replica can load it."""
        folder = self.path(version)
        if self.files is not None and folder is not None:
            await push_folder(self.files, folder)

    async def listing(self) -> dict[str, dict[str, Any]]:
        """The manifests of the versions here and in the model store."""
        stored = {} if self.files is None else await stored_manifests(self.files)
        return dict(sorted({**stored, **self.manifests()}.items()))

    def write_active(self, version: str) -> None:
        """Replace ``ACTIVE`` atomically, so a reader never sees a half-written name."""
        tmp = self.root / f".ACTIVE.{os.getpid()}"
        tmp.write_text(version + "\n", "utf-8")
        tmp.replace(self.root / "ACTIVE")


@dataclass
class ModelSlot:
    """The analyzer in use; listeners (the consumer) are told of every swap."""

    analyzer: Analyzer
    listeners: list[Callable[[Analyzer], None]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def version(self) -> str:
        return self.analyzer.classifier.version

    @property
    def shadow_version(self) -> str | None:
        shadow = self.analyzer.shadow
        return None if shadow is None else shadow.version

    def swap(self, analyzer: Analyzer) -> None:
        shadow = self.analyzer.shadow
        if (
            analyzer.shadow is None
            and shadow is not None
            and shadow.version != analyzer.classifier.version
        ):
            # The shadow keeps running beside whichever model routes.
            analyzer = replace(analyzer, shadow=shadow)
        old, self.analyzer = self.version, analyzer
        for listener in self.listeners:
            listener(analyzer)
        log.info("model swapped", previous=old, model_version=self.version)

    def set_shadow(self, shadow: Classifier | None) -> None:
        """Score every batch with ``shadow`` too from the next one on (None: stop)."""
        self.analyzer = replace(self.analyzer, shadow=shadow)
        for listener in self.listeners:
            listener(self.analyzer)
        log.info("shadow model set", shadow_version=self.shadow_version)


async def _load(catalog: FolderCatalog, version: str) -> Analyzer:
    try:
        path = await catalog.fetch(version)
    except ModelStoreError as exc:
        raise ActivationError(str(exc), status=422) from exc
    if path is None:
        raise ActivationError(
            f"no model version {version!r}, neither in {catalog.root} nor in the model store "
            "(store a model folder with `triage models push DIR`)",
            status=404,
        )
    try:
        return await asyncio.to_thread(catalog.load, path)
    except TriageError as exc:
        raise ActivationError(f"model {version!r} cannot be loaded: {exc}", status=422) from exc


async def _publish(catalog: FolderCatalog, version: str) -> None:
    try:
        await catalog.publish(version)
    except ModelStoreError as exc:
        raise ActivationError(str(exc), status=409) from exc


async def _append(store: TicketStore, latest: dict[str, Any] | None, doc: dict[str, Any]) -> int:
    seq = (latest["_id"] if latest else 0) + 1
    if not await store.add_activation({"_id": seq, **doc, "at": datetime.now(UTC)}):
        raise ActivationError("another activation happened at the same time; retry", status=409)
    return seq


def gate_record(verdict: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What an activation keeps of the comparison the version went through (None: never
    compared)."""
    if verdict is None:
        return None
    return {
        "passed": bool(verdict.get("passed")),
        "against": verdict.get("reference"),
        "against_sha256": verdict.get("reference_sha256"),
        "refused_labels": list(verdict.get("refused_labels") or []),
        "n": verdict.get("n"),
        "macro_f1": verdict.get("macro_f1"),
        "per_class": verdict.get("per_class"),
        "failures": list(verdict.get("failures") or []),
        "at": verdict.get("at"),
    }


def _check_force(force: bool, reason: str | None) -> None:
    if force and not (reason and reason.strip()):
        raise ActivationError("a forced activation needs a reason", status=422)


def _weights_sha256(catalog: FolderCatalog, version: str) -> str | None:
    """The checksum of the active model's weights, which a verdict must have been against."""
    path = catalog.path(version)
    if path is None:
        return None
    try:
        value = json.loads((path / "manifest.json").read_text("utf-8")).get("weights_sha256")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _check_labels(version: str, analyzer: Analyzer, known: frozenset[str] | None) -> None:
    if known is None:
        return
    missing = sorted(set(analyzer.classifier.labels) - known)
    if missing:
        raise ActivationError(
            f"model {version!r} predicts labels the department registry does not have: "
            f"{', '.join(missing)}; add them to the registry (TRIAGE_DEPARTMENTS) first",
            status=422,
        )


async def activate(
    version: str,
    *,
    slot: ModelSlot,
    catalog: FolderCatalog,
    store: TicketStore,
    verdicts: Sequence[Mapping[str, Any]] = (),
    force: bool = False,
    reason: str | None = None,
    registry_labels: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Load ``version``, record it as active and swap it in here; other replicas follow.

    ``verdicts`` are the version's comparisons (``training.verdict``): without ``force`` (which
    needs a ``reason``) it must have passed one against the model active at this moment
    (``triage.core.promotion``); the record keeps the verdict that applies, the force and the
    reason. A model with labels outside ``registry_labels`` is refused.
    """
    _check_force(force, reason)
    async with slot.lock:
        recent = await store.activations(1)
        latest = recent[0] if recent else None
        current = latest["version"] if latest else slot.version
        if version == current:
            raise ActivationError(f"model {version!r} is already active", status=409)
        analyzer = await _load(catalog, version)
        judgement = judge(version, verdicts, current, _weights_sha256(catalog, current))
        if not judgement.passed and not force:
            raise ActivationError(judgement.message or "refused", status=409)
        _check_labels(version, analyzer, registry_labels)
        if latest is None and catalog.path(slot.version) is not None:
            # The version running since start-up becomes the first record: rollback target.
            await _publish(catalog, slot.version)
            latest = {"_id": await _append(store, None, _record(slot.version, "initial", None))}
        # Stored before it is recorded: a replica that follows the record can always fetch it.
        await _publish(catalog, version)
        record = _record(version, "activate", latest)
        record["gate"] = gate_record(judgement.verdict)
        record["gate_refusal"] = judgement.reason
        record["forced"] = force
        record["reason"] = reason if force else None
        seq = await _append(store, latest, record)
        catalog.write_active(version)
        slot.swap(analyzer)
        return {
            "active": version,
            "previous": current,
            "activation": seq,
            "gate_passed": None if judgement.verdict is None else judgement.passed,
            "gate_refusal": judgement.reason,
            "forced": force,
        }


async def rollback(
    *, slot: ModelSlot, catalog: FolderCatalog, store: TicketStore
) -> dict[str, Any]:
    """Activate the version the current activation replaced."""
    async with slot.lock:
        recent = await store.activations(50)
        if not recent or recent[0].get("rollback_to") is None:
            raise ActivationError("there is no earlier activation to roll back to", status=409)
        latest = recent[0]
        by_id = {r["_id"]: r for r in recent}
        target = by_id.get(latest["rollback_to"])
        if target is None:
            raise ActivationError("the activation to roll back to is too old", status=409)
        analyzer = await _load(catalog, target["version"])
        doc = _record(target["version"], "rollback", None)
        doc["rollback_to"] = target.get("rollback_to")
        seq = await _append(store, latest, doc)
        catalog.write_active(target["version"])
        slot.swap(analyzer)
        return {"active": target["version"], "previous": latest["version"], "activation": seq}


def _record(version: str, kind: str, replaced: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "version": version,
        "kind": kind,
        "rollback_to": replaced["_id"] if replaced else None,
        "by": os.environ.get("HOSTNAME", "") or str(os.getpid()),
    }


async def poll_activations(
    *,
    slot: ModelSlot,
    catalog: FolderCatalog,
    store: TicketStore,
    interval_s: float,
    stop: asyncio.Event,
) -> None:
    """Until ``stop`` is set: follow the latest activation record, whichever replica wrote it."""
    refused: str | None = None
    wanted: str | None = None
    # Stopped by an event, not cancelled: a query cancelled midway can leave a socket unclosed.
    while not stop.is_set():
        try:
            recent = await store.activations(1)
            wanted = recent[0]["version"] if recent else None
            if wanted is not None and wanted != slot.version and wanted != refused:
                async with slot.lock:
                    if wanted != slot.version:
                        slot.swap(await _load(catalog, wanted))
        except ActivationError as exc:
            refused = wanted
            # The reason is the message; a traceback would add nothing.
            log.error(  # noqa: TRY400
                "activated model cannot be used here", model_version=wanted, error=str(exc)
            )
        except TriageError as exc:
            log.warning("model activation poll failed", error=type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
