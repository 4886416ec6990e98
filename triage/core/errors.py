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


class SettingsError(TriageError, ValueError):
    """An environment variable holds a value the service cannot run with."""

    def __init__(self, variable: str, value: str, problem: str) -> None:
        self.variable = variable
        self.value = value
        super().__init__(f"{variable}={value!r}: {problem}")


class StoreError(TriageError):
    """The ticket store failed; ``retriable`` says whether waiting and retrying can help."""

    retriable = False


class StoreUnavailableError(StoreError):
    """The store cannot be reached right now (server down, election, network)."""

    retriable = True
