"""Domain values shared by the classifier, the routing policy, the streams and the API.

All frozen: a prediction or a decision is a fact about a moment and is never edited in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Field = Literal["title", "body"]


@dataclass(frozen=True, slots=True)
class TicketText:
    """The text a classifier reads: already normalised and masked, so positions stay valid."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Span:
    """Where a term occurs: a field of the ticket and a half-open character range in it."""

    field: Field
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """A term of this ticket that pushed the top label, with its share of the decision score."""

    term: str
    weight: float
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    probability: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """Top-k labels (best first) with calibrated probabilities and evidence for the first."""

    top: tuple[LabelScore, ...]
    evidence: tuple[Evidence, ...]
    model_version: str

    @property
    def label(self) -> str:
        return self.top[0].label

    @property
    def confidence(self) -> float:
        return self.top[0].probability


class Classifier(Protocol):
    """What the service needs of a model; `triage.core.model.Model` is the real one."""

    @property
    def version(self) -> str: ...

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def thresholds(self) -> Mapping[str, float]: ...

    def predict(
        self, docs: Sequence[TicketText], k: int = 3, n_evidence: int = 5
    ) -> list[Prediction]: ...
