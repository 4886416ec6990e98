"""Departments and agents acting on stored tickets through the real outcome handler, and the
export command run as a trainer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.api import Api
from triage.adapters.outcome_handler import EventIn, handle_event
from triage.core.outcomes import Actor
from triage.service.keys import PRODUCER, REGISTRY

ROOT = Path(__file__).resolve().parents[2]


async def act(api: Api, ticket_id: str, steps: list[tuple[str, str | None]]) -> dict[str, Any]:
    """Apply events in order: (type, department) where department is the acting department
    for accept/return/resolve and the target of a reassign; the ticket document after."""
    app = api.app
    for i, (kind, department) in enumerate(steps):
        if kind == "reassign":
            actor = Actor("agent")
            event = EventIn(event_id=f"{ticket_id}-{i}", type="reassign", department=department)
        else:
            doc = await api.store.get(ticket_id)
            actor = Actor("department", doc["department"] if department is None else department)
            reason = "不属于本部门" if kind == "return" else None
            event = EventIn(event_id=f"{ticket_id}-{i}", type=kind, reason=reason)  # type: ignore[arg-type]
        await handle_event(
            ticket_id,
            event,
            actor,
            store=api.store,
            producer=app[PRODUCER],
            registry=app[REGISTRY],
            topics=api.settings.topics,
        )
    doc: dict[str, Any] = await api.store.get(ticket_id)
    return doc


def triage_cli(
    args: list[str], *, mongodb_uri: str, db: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m triage ARGS`` against the given database, as a trainer runs it."""
    return subprocess.run(
        [sys.executable, "-m", "triage", *args],
        env={**os.environ, "MONGODB_URI": mongodb_uri, "TRIAGE_DB": db, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
