"""The pure core: what a ticket is, how its text is prepared, how a decision is made.

No module here imports an I/O library (aiohttp, aiokafka, pymongo, sockets, subprocesses), so
all of it is tested without servers and shared by the service, the streams and training
(checked by the import contracts in ``pyproject.toml``). Re-exported below are the light,
stable names; the model and its features (``model``, ``features``, ``tokenize``) pull in numpy,
scipy and jieba and are imported from their modules where they are needed.
"""

from __future__ import annotations

from triage.core.departments import Department, District, Registry, routed_topic
from triage.core.domain import Classifier, Evidence, LabelScore, Prediction, Span, TicketText
from triage.core.errors import (
    RegistryError,
    RegistryLookupError,
    SettingsError,
    StackError,
    StoreError,
    StoreUnavailableError,
    TriageError,
)
from triage.core.outcomes import Actor, OutcomeError, Transition, transition
from triage.core.registry_schema import registry_from_mapping
from triage.core.routing import Decision, Suggestion, content_hash, decide, decision_id
from triage.core.settings import Settings, Topics
from triage.core.text import mask, normalise, prepare

__all__ = [
    "Actor",
    "Classifier",
    "Decision",
    "Department",
    "District",
    "Evidence",
    "LabelScore",
    "OutcomeError",
    "Prediction",
    "Registry",
    "RegistryError",
    "RegistryLookupError",
    "Settings",
    "SettingsError",
    "Span",
    "StackError",
    "StoreError",
    "StoreUnavailableError",
    "Suggestion",
    "TicketText",
    "Topics",
    "Transition",
    "TriageError",
    "content_hash",
    "decide",
    "decision_id",
    "mask",
    "normalise",
    "prepare",
    "registry_from_mapping",
    "routed_topic",
    "transition",
]
