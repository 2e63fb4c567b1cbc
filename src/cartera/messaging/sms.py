"""SMS sizing: the GSM-7 alphabet, segment counts and transliteration to GSM-7.

An SMS is sent in GSM-7 (7-bit, 160 characters in one message, 153 per part of a long one) when
every character is in the GSM 03.38 alphabet, and in UCS-2 (70, then 67 per part) otherwise: one
"á" halves what fits. Characters of the extension table (€, [, ], {, }, ^, ~, |, \\) take two
septets. Operators bill per segment, so `RenderError` refuses texts over a creditor's cap.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character set (3GPP TS 23.038 §6.2.1), without the escape code 0x1B.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + character, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
PART_GSM7 = 153
SINGLE_UCS2 = 70
PART_UCS2 = 67


@dataclass(frozen=True)
class SmsInfo:
    """How an SMS text travels: its encoding, its length in that encoding and its segments."""

    encoding: str
    characters: int
    segments: int


def _is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _segments(costs: list[int], single: int, part: int) -> int:
    """Parts of a long message: an escape pair or a surrogate pair is never split between two."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments


def sms_measure(text: str) -> SmsInfo:
    """Encoding, length (in septets for GSM-7, UTF-16 units for UCS-2) and segments of `text`."""
    if _is_gsm7(text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsInfo(GSM7, sum(costs), _segments(costs, SINGLE_GSM7, PART_GSM7))
    # Characters beyond the Basic Multilingual Plane (emoji) take two UTF-16 units.
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsInfo(UCS2, sum(costs), _segments(costs, SINGLE_UCS2, PART_UCS2))


# What Spanish, Portuguese and English texts use that GSM-7 lacks. Letters with an accent of
# their own in GSM-7 (é, è, ñ, ü, à, Ç, Ñ, É…) are kept as they are.
_REPLACEMENTS = {
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "Á": "A",
    "Í": "I",
    "Ó": "O",
    "Ú": "U",
    "È": "E",
    "Ì": "I",
    "Ò": "O",
    "Ù": "U",
    "À": "A",
    "ç": "Ç",
    "â": "a",
    "ê": "e",
    "î": "i",
    "ô": "o",
    "û": "u",
    "ã": "a",
    "õ": "o",
    "Ã": "A",
    "Õ": "O",
    "ë": "e",
    "ï": "i",
    "ÿ": "y",
    "ý": "y",
    "Ý": "Y",
    "ª": "a",
    "º": "o",
    "°": "o",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\t": " ",
    "‘": "'",
    "’": "'",
    "‚": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "–": "-",
    "—": "-",
    "‐": "-",
    "…": "...",
    "•": "-",
    "·": ".",
    "`": "'",
    "´": "'",
}


@lru_cache(maxsize=4096)
def _to_gsm7_char(ch: str) -> str:
    if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
        return ch
    if ch in _REPLACEMENTS:
        return _REPLACEMENTS[ch]
    # Other accented Latin letters: drop the accent when what remains is GSM-7.
    bare = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
    if bare and _is_gsm7(bare):
        return bare
    return "?"


def sms_to_gsm7(text: str) -> str:
    """`text` written with GSM-7 characters only: á → a, “ ” → ", – → -; ñ and é stay.

    A character with no GSM-7 likeness (an emoji, a Chinese character) becomes "?", so the
    reader sees something is missing rather than nothing.
    """
    if _is_gsm7(text):
        return text
    return "".join(_to_gsm7_char(ch) for ch in text)
