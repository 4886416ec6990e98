"""Which texts a model trained on, kept beside it so the gate never scores it on them.

A text is known by a key of its normalised form: the prepared (masked) title and body run
together with whitespace and case removed, so the same message exported from the store, copied
into another file or re-spaced by an agent still counts as the same text. The keys of every
example a model trained on are written to ``trained_texts.txt`` in its folder, sorted, one a
line (16 hex digits each: 17 bytes a text, 1.7 MB for 100,000 examples).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from triage.core.domain import TicketText

__all__ = ["TRAINED_TEXTS", "read_trained", "text_key", "write_trained"]

TRAINED_TEXTS = "trained_texts.txt"
_SPACE = re.compile(r"\s+")


def text_key(doc: TicketText) -> str:
    """The key of a prepared text: equal for texts that differ only in spacing or case."""
    joined = unicodedata.normalize("NFKC", f"{doc.title}{doc.body}").casefold()
    return hashlib.sha256(_SPACE.sub("", joined).encode()).hexdigest()[:16]


def write_trained(folder: Path, keys: Iterable[str]) -> None:
    (folder / TRAINED_TEXTS).write_text("".join(f"{k}\n" for k in sorted(set(keys))), "utf-8")


def read_trained(folder: Path | None) -> frozenset[str] | None:
    """The keys a model trained on, or None for a model trained before they were kept."""
    if folder is None:
        return None
    try:
        return frozenset((folder / TRAINED_TEXTS).read_text("utf-8").split())
    except OSError:
        return None
