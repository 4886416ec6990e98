"""Chinese word segmentation: jieba's dictionary and algorithm plus the project's user dictionary.

`jieba_fast` is jieba with its hot loops in C; it reads the same dictionary and gives the same
segmentation, so it is used when installed (see bench/classify.py for the speed difference).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

try:
    import jieba_fast as _jieba
except ImportError:  # pragma: no cover - the pure-Python jieba is the reference implementation
    import jieba as _jieba  # type: ignore[no-redef]

USER_DICT = Path(str(resources.files("triage") / "data" / "userdict.txt"))
_lock = threading.Lock()


def user_dict_hash() -> str:
    """Recorded in artifacts that use word features: a different dictionary is a different model."""
    return hashlib.sha256(USER_DICT.read_bytes()).hexdigest()[:16]


@cache
def _tokenizer() -> Any:
    with _lock:
        _jieba.setLogLevel(logging.WARNING)
        tok = _jieba.Tokenizer()
        tok.initialize()
        with USER_DICT.open("rb") as f:  # jieba leaves a file it opens itself unclosed
            tok.load_userdict(f)
        return tok


def tokenize(text: str) -> list[str]:
    """Words of `text` (accurate mode, HMM on for unknown words), whitespace dropped."""
    return [w for w in _tokenizer().lcut(text, HMM=True) if not w.isspace()]
