"""Errors of the Kafka side.

TriageError
 └── StreamsError
      ├── ProduceError      a publish was not acknowledged (retriable: retry the batch)
      └── CommitError       offsets could not be committed (retriable unless fenced)
"""

from __future__ import annotations

from triage.core.errors import TriageError


class StreamsError(TriageError):
    retriable = False


class ProduceError(StreamsError):
    """Publishing failed; ``topic`` is the first topic that failed."""

    retriable = True

    def __init__(self, message: str, *, topic: str | None = None) -> None:
        self.topic = topic
        super().__init__(message)


class CommitError(StreamsError):
    retriable = True
