"""Service settings, read once from the environment, validated and frozen.

Every variable has a working local default (see ARCHITECTURE.md). A bad value fails at start-up
with the variable and the value named, never later in the middle of a batch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from triage.core.departments import routed_topic
from triage.core.errors import SettingsError

__all__ = ["STAGES", "Settings", "Topics"]

# The repository's models/ folder; triage.adapters.artifact reads its default from here.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

# What `triage serve` can run: each stage is a consumer group of its own (README, "Streaming").
STAGES = ("routing", "hotspots", "events")

_PREFIX_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
_DB_RE = re.compile(r"[A-Za-z0-9_-]{1,63}")


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names derived from one prefix, so test runs and environments never collide."""

    prefix: str

    @property
    def tickets(self) -> str:
        return f"{self.prefix}.tickets"

    @property
    def review(self) -> str:
        return f"{self.prefix}.review"

    @property
    def events(self) -> str:
        return f"{self.prefix}.events"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def decided(self) -> str:
        """Every decided ticket, for the hot-spot stage (one partition: one owner sees all)."""
        return f"{self.prefix}.decided"

    @property
    def detected(self) -> str:
        """Each ticket with its hot spot once stored, for the replicas answering `similar`."""
        return f"{self.prefix}.detected"

    def routed(self, code: str) -> str:
        return routed_topic(self.prefix, code)


@dataclass(frozen=True, slots=True)
class Settings:
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    db: str = "triage"
    topic_prefix: str = "hotline"
    model: Path | None = None
    departments: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    group_id: str = "triage"
    # 512: bench/pipeline.py gave 2,456 tickets/s at 256, 2,652 at 512, 2,588 at 1,024.
    batch_size: int = 512
    batch_linger_ms: int = 50
    # The samples' over-long body is 20,012 characters; real hotline tickets stay far below
    # 20,000, and the store's documents must stay well under MongoDB's 16 MB.
    max_body_chars: int = 20_000
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    top_k: int = 3
    n_evidence: int = 5
    tokens_file: Path | None = None
    # Tickets are a few KB; 64 KiB leaves room for the longest allowed body in UTF-8.
    http_max_bytes: int = 64 * 1024
    models_dir: Path = MODELS_DIR
    model_poll_ms: int = 5_000
    # Hot-spot detection over this many days of tickets; 0 turns it off.
    hotspot_window_days: int = 90
    # Daily statistics counters kept at write time (off only to measure what they cost).
    stats_counters: bool = True
    # The consumer adds up the counters of the batches it delivers within this time of the
    # last flush and writes them together before committing their offsets (at once when a
    # batch leaves nothing more to fetch); 0 writes them after every batch.
    stats_flush_ms: int = 5_000
    # Statutory deadlines in working hours (office hours of working days), from the moment a
    # ticket reaches a department: one working day to accept, five to resolve. The defaults:
    # a department's registry entry may set its own (triage.core.deadlines).
    accept_hours: int = 7
    resolve_hours: int = 35
    # Tests only: the events consumer applies events but never commits their offsets, so a
    # test can kill it with every event handled and none committed (a crash before the commit).
    test_hold_event_commits: bool = False
    # The stages this process runs (TRIAGE_STAGES, or `triage serve --stages`); all by default.
    stages: frozenset[str] = frozenset(STAGES)

    @property
    def events_group_id(self) -> str:
        return f"{self.group_id}-events"

    @property
    def hotspots_group_id(self) -> str:
        return f"{self.group_id}-hotspots"

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default ``os.environ``); unset or empty means the default."""
        env = os.environ if env is None else env
        d = cls()

        def text(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        def path(name: str) -> Path | None:
            value = env.get(name, "").strip()
            return Path(value) if value else None

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(name, raw, "must be a whole number") from None
            if not low <= value <= high:
                raise SettingsError(name, raw, f"must be in {low}..{high}")
            return value

        def switch(name: str, default: bool) -> bool:
            raw = env.get(name, "").strip().lower()
            if not raw:
                return default
            if raw not in ("on", "off", "1", "0", "true", "false"):
                raise SettingsError(name, raw, "must be on or off")
            return raw in ("on", "1", "true")

        settings = cls(
            kafka_bootstrap=text("KAFKA_BOOTSTRAP_SERVERS", d.kafka_bootstrap),
            mongodb_uri=text("MONGODB_URI", d.mongodb_uri),
            db=text("TRIAGE_DB", d.db),
            topic_prefix=text("TRIAGE_TOPIC_PREFIX", d.topic_prefix),
            model=path("TRIAGE_MODEL"),
            departments=path("TRIAGE_DEPARTMENTS"),
            http_host=text("TRIAGE_HTTP_HOST", d.http_host),
            http_port=integer("TRIAGE_HTTP_PORT", d.http_port, 0, 65535),
            group_id=text("TRIAGE_GROUP_ID", d.group_id),
            batch_size=integer("TRIAGE_BATCH_SIZE", d.batch_size, 1, 10_000),
            batch_linger_ms=integer("TRIAGE_BATCH_LINGER_MS", d.batch_linger_ms, 0, 10_000),
            max_body_chars=integer("TRIAGE_MAX_BODY_CHARS", d.max_body_chars, 1, 1_000_000),
            session_timeout_ms=integer(
                "TRIAGE_SESSION_TIMEOUT_MS", d.session_timeout_ms, 1_000, 300_000
            ),
            heartbeat_interval_ms=integer(
                "TRIAGE_HEARTBEAT_INTERVAL_MS", d.heartbeat_interval_ms, 100, 100_000
            ),
            tokens_file=path("TRIAGE_TOKENS_FILE"),
            http_max_bytes=integer("TRIAGE_HTTP_MAX_BYTES", d.http_max_bytes, 1024, 16 << 20),
            models_dir=path("TRIAGE_MODELS_DIR") or d.models_dir,
            model_poll_ms=integer("TRIAGE_MODEL_POLL_MS", d.model_poll_ms, 100, 3_600_000),
            hotspot_window_days=integer(
                "TRIAGE_HOTSPOT_WINDOW_DAYS", d.hotspot_window_days, 0, 3_650
            ),
            stats_counters=switch("TRIAGE_STATS_COUNTERS", d.stats_counters),
            stats_flush_ms=integer("TRIAGE_STATS_FLUSH_MS", d.stats_flush_ms, 0, 60_000),
            accept_hours=integer("TRIAGE_ACCEPT_HOURS", d.accept_hours, 1, 10_000),
            resolve_hours=integer("TRIAGE_RESOLVE_HOURS", d.resolve_hours, 1, 10_000),
            test_hold_event_commits=switch(
                "TRIAGE_TEST_HOLD_EVENT_COMMITS", d.test_hold_event_commits
            ),
            stages=parse_stages(env.get("TRIAGE_STAGES", ""), "TRIAGE_STAGES")
            if env.get("TRIAGE_STAGES", "").strip()
            else d.stages,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise SettingsError naming the variable of the first inconsistent value."""
        if not self.kafka_bootstrap or any(
            not part.strip() or ":" not in part for part in self.kafka_bootstrap.split(",")
        ):
            raise SettingsError(
                "KAFKA_BOOTSTRAP_SERVERS", self.kafka_bootstrap, "must be host:port[,host:port]"
            )
        if not self.mongodb_uri.startswith(("mongodb://", "mongodb+srv://")):
            raise SettingsError("MONGODB_URI", self.mongodb_uri, "must start with mongodb://")
        if not _DB_RE.fullmatch(self.db):
            raise SettingsError("TRIAGE_DB", self.db, "must be 1-63 letters, digits, '_', '-'")
        if not _PREFIX_RE.fullmatch(self.topic_prefix):
            raise SettingsError(
                "TRIAGE_TOPIC_PREFIX", self.topic_prefix, "must be 1-100 of [A-Za-z0-9._-]"
            )
        if self.heartbeat_interval_ms * 3 > self.session_timeout_ms:
            raise SettingsError(
                "TRIAGE_HEARTBEAT_INTERVAL_MS",
                str(self.heartbeat_interval_ms),
                f"must be at most a third of TRIAGE_SESSION_TIMEOUT_MS ({self.session_timeout_ms})",
            )
        if self.resolve_hours < self.accept_hours:
            raise SettingsError(
                "TRIAGE_RESOLVE_HOURS",
                str(self.resolve_hours),
                f"must be at least TRIAGE_ACCEPT_HOURS ({self.accept_hours}): a ticket cannot be "
                "due to be resolved before it is due to be accepted",
            )
        for name, value in (
            ("TRIAGE_MODEL", self.model),
            ("TRIAGE_DEPARTMENTS", self.departments),
            ("TRIAGE_TOKENS_FILE", self.tokens_file),
        ):
            if value is not None and not value.exists():
                raise SettingsError(name, str(value), "does not exist")


def parse_stages(raw: str, name: str) -> frozenset[str]:
    """A comma-separated list of stages (``STAGES``); `none` (or nothing) for none."""
    wanted = {part.strip() for part in raw.split(",") if part.strip()} - {"none"}
    unknown = sorted(wanted - set(STAGES))
    if unknown:
        raise SettingsError(name, raw, f"unknown stage {unknown[0]!r}: expected some of {STAGES}")
    return frozenset(wanted)
