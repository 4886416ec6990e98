"""The typed keys under which the app factory stores its services (``request.app[STORE]``).

A leaf module: the factory and every handler import it, and it imports neither of them.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from streams.batch import Analyzer
from streams.consumer import TicketConsumer
from streams.hotspots import HotspotConsumer
from streams.producer import KafkaProducer
from triage.adapters.activation import FolderCatalog, ModelSlot
from triage.adapters.hotspot_tracker import SimilarIndex
from triage.adapters.recent_reads import RecentReads
from triage.adapters.store import HotspotStore, ShadowState, TicketStore
from triage.core.deadlines import DeadlineTable
from triage.core.departments import Registry
from triage.core.settings import Settings

__all__ = [
    "ANALYZER",
    "CATALOG",
    "CONSUMER",
    "CONSUMER_TASK",
    "DEADLINES",
    "EVENTS_TASK",
    "HOTSPOTS",
    "HOTSPOTS_CONSUMER",
    "HOTSPOTS_TASK",
    "HOTSPOT_STORE",
    "MODEL",
    "PRODUCER",
    "RECENT_HOTSPOTS",
    "RECENT_TICKETS",
    "REGISTRY",
    "SETTINGS",
    "SHADOW",
    "STORE",
]

SETTINGS = web.AppKey("settings", Settings)
REGISTRY = web.AppKey("registry", Registry)
# Each department's statutory deadlines: the registry's, else the settings' defaults.
DEADLINES = web.AppKey("deadlines", DeadlineTable)
ANALYZER = web.AppKey("analyzer", Analyzer)
STORE = web.AppKey("store", TicketStore)
PRODUCER = web.AppKey("producer", KafkaProducer)
CONSUMER = web.AppKey("consumer", TicketConsumer)
CONSUMER_TASK = web.AppKey("consumer_task", asyncio.Task[None])
EVENTS_TASK = web.AppKey("events_task", asyncio.Task[None])
# The analyzer in use now; ANALYZER keeps the one loaded at start-up.
MODEL = web.AppKey("model", ModelSlot)
CATALOG = web.AppKey("catalog", FolderCatalog)
# The `hotspots` collection (always); the window answering `similar` where the API serves it.
HOTSPOT_STORE = web.AppKey("hotspot_store", HotspotStore)
HOTSPOTS = web.AppKey("hotspots", SimilarIndex)
# Tickets and hot spots `similar` read a moment ago (triage.adapters.recent_reads).
RECENT_TICKETS = web.AppKey("recent_tickets", RecentReads)
RECENT_HOTSPOTS = web.AppKey("recent_hotspots", RecentReads)
# The hot-spot stage, where this process runs it.
HOTSPOTS_CONSUMER = web.AppKey("hotspots_consumer", HotspotConsumer)
HOTSPOTS_TASK = web.AppKey("hotspots_task", asyncio.Task[None])
# Which version runs in shadow (triage.adapters.shadow), shared by every replica.
SHADOW = web.AppKey("shadow", ShadowState)
