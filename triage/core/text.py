"""Text handling before anything is stored, logged or trained on: normalise, then mask.

Pure: no I/O. Masking runs on normalised text so that full-width digits (１３８…) and stray
spaces cannot hide a phone number from the patterns.
"""

from __future__ import annotations

import re
import unicodedata

from triage.core.domain import TicketText

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")

# Full-width ASCII (！ to ～) maps to ASCII by a fixed offset; Chinese punctuation (，。：) is kept
# because the models were trained on it and it separates clauses.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp) not in "，：；！？（）"}


_HAS_FULLWIDTH = re.compile("[" + "".join(re.escape(chr(cp)) for cp in _FULLWIDTH) + "]")


def normalise(text: str) -> str:
    """Full-width letters and digits to ASCII, control characters out, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text)
    if _HAS_FULLWIDTH.search(text):  # translate walks every character; most texts need none
        text = text.translate(_FULLWIDTH)
    text = _CONTROL.sub("", text)
    text = _NEWLINES.sub("\n", text)
    return _SPACES.sub(" ", text).strip()


# Each pattern is bounded by "not a digit/letter" on both sides so that parts of longer numbers
# (an order number, a timestamp) are not masked as a phone, and vice versa.
_D = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

MASKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    # 18-digit resident ID: 6-digit region, birth date 18xx-20xx, 3-digit sequence, check digit.
    (
        "id_number",
        re.compile(
            _D + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
            r"\d{3}[\dXx]" + _E
        ),
    ),
    # Bank cards: 16-19 digits, optionally grouped by 4 with spaces or dashes.
    ("bank_card", re.compile(_D + r"[1-9]\d{3}(?:[ -]?\d{4}){2}[ -]?\d{4}(?:[ -]?\d{1,3})?" + _E)),
    ("mobile", re.compile(_D + r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}" + _E)),
    ("landline", re.compile(_D + r"(?:\(?0\d{2,3}\)?[ -]?)?[2-8]\d{6,7}" + _E)),
    (
        "plate",
        re.compile(f"[{_PLATE_PROVINCES}]" + r"[A-Z][·•\- ]?(?:[A-Z0-9]{5}|[DF][A-Z0-9]{5})" + _E),
    ),
)

MASK_TOKENS = {kind: f"<{kind}>" for kind, _ in MASKS}


# Every pattern needs four digits in a row, an @, or a plate's province and letter: text with
# none of them has nothing to mask, and skipping six scans of it is most of masking's cost.
_MAYBE_PERSONAL = re.compile(r"\d{4}|@|[" + _PLATE_PROVINCES + "][A-Z]")


def mask(text: str) -> str:
    """Replace personal data with a token naming its kind, e.g. `<mobile>`."""
    if not _MAYBE_PERSONAL.search(text):
        return text
    for kind, pattern in MASKS:
        text = pattern.sub(MASK_TOKENS[kind], text)
    return text


def clean(text: str | None) -> str:
    """The one way free text enters the system: normalised, then masked."""
    return mask(normalise(text)) if text else ""


def prepare(title: str | None, body: str) -> TicketText:
    """A ticket's text as the classifier reads it and the store keeps it."""
    return TicketText(title=clean(title), body=clean(body))
