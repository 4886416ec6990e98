"""Exceptions raised by the triage service."""

from __future__ import annotations

from pathlib import Path


class TriageError(Exception):
    """Root of every error this project raises."""


class RegistryError(TriageError):
    """The department registry file is unusable, or a lookup asked it for something it lacks.

    ``source`` is the registry file and ``entry`` the offending item (a department code, a label,
    a district), so a caller can report them without parsing the message.
    """

    def __init__(
        self, message: str, *, source: str | Path | None = None, entry: str | None = None
    ) -> None:
        self.source = str(source) if source is not None else None
        self.entry = entry
        super().__init__(f"{self.source}: {message}" if self.source else message)


class RegistryLookupError(RegistryError, LookupError):
    """A valid registry was asked for a department code, label or district it does not hold."""


class StackError(TriageError):
    """A local server of `triage stack` could not be fetched, started, reached or stopped."""
