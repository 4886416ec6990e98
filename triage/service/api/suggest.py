"""``POST /v1/suggest``: ranked departments, evidence and the routing policy's verdict, live.

One ticket classifies in well under a millisecond, so it runs inline; only an unusually long
text goes to a worker thread, where it cannot hold up other requests or the consumer.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import msgspec
from aiohttp import web

from triage.core.domain import Prediction, TicketText
from triage.core.routing import content_hash, decide
from triage.service.api.auth import requires
from triage.service.api.errors import ApiError, decode_json, json_response
from triage.service.api.similar import similar_for
from triage.service.keys import MODEL, REGISTRY, SETTINGS

__all__ = ["add_routes", "suggest"]

# Above this many characters the classification moves off the event loop.
INLINE_CHARS = 2_000


class SuggestIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1)]
    title: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    location: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    k: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3


@requires("agent", "supervisor")
async def suggest(request: web.Request) -> web.Response:
    app = request.app
    settings, registry = app[SETTINGS], app[REGISTRY]
    req = await decode_json(request, SuggestIn)
    if not req.body.strip():
        raise ApiError(422, "body is empty", field="body")
    if len(req.body) > settings.max_body_chars:
        raise ApiError(422, f"body over {settings.max_body_chars} characters", field="body")
    analyzer = app[MODEL].analyzer
    k = max(req.k, 1)

    def run() -> tuple[TicketText, str | None, Prediction]:
        text = analyzer.prepare(req.title or "", req.body)
        location = None if req.location is None else analyzer.prepare("", req.location).body
        prediction = analyzer.classifier.predict([text], k=k, n_evidence=settings.n_evidence)[0]
        return text, location, prediction

    if len(req.body) + len(req.title or "") <= INLINE_CHARS:
        text, location, prediction = run()
    else:
        text, location, prediction = await asyncio.to_thread(run)
    decision = decide(
        prediction,
        registry,
        ticket_id="suggest",
        digest=content_hash(req.title, req.body, req.location),
        location=req.location,
        thresholds=analyzer.classifier.thresholds,
        text=text,
    )
    names = {d.code: d.name for d in registry.departments}
    related = await similar_for(app, text.title, text.body)
    return json_response(
        {
            "model_version": decision.model_version,
            "route": decision.kind,
            "department": decision.department,
            "confidence": float(decision.confidence),
            "threshold": float(decision.threshold),
            "district": decision.district,
            "suggestions": [
                {
                    "label": s.label,
                    "probability": float(s.probability),
                    "department": s.department,
                    "department_name": names.get(s.department) if s.department else None,
                }
                for s in decision.suggestions
            ],
            "evidence": [
                {
                    "term": e.term,
                    "weight": float(e.weight),
                    "spans": [
                        {"field": s.field, "start": int(s.start), "end": int(s.end)}
                        for s in e.spans
                    ],
                }
                for e in decision.evidence
            ],
            "text": {"title": text.title, "body": text.body, "location": location},
            **related,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/suggest", suggest)
