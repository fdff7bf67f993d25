"""Normalizing what people typed: completion codes and MTurk worker IDs.

Pure functions, no I/O. The matcher joins on the *normalized* forms; the raw text is kept everywhere
else so the PI sees exactly what the worker submitted.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, Iterator

# Characters that are invisible or look like a space but are not one; copy-paste from web pages and
# chat apps brings them along, and an exact string comparison then fails for no visible reason.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACE_LIKE = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009\u200a\u3000\t\r\n\v\f"), " ")
_TRANSLATE = {**_ZERO_WIDTH, **_SPACE_LIKE}

# Quotes, brackets and sentence punctuation that workers leave around a pasted code.
_JUNK_AROUND = " \"'`“”‘’«».,;:!?()[]{}<>*#=~|/\\"

_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]|[A-Za-z0-9]")

# MTurk worker IDs: "A" followed by upper-case letters and digits, 12-21 characters in all in the wild.
_WORKER_RE = re.compile(r"^A[A-Z0-9]{9,20}$")
# Typed without the leading "A" (as workers do), still recognisably an ID: letters *and* digits.
_WORKER_NO_A_RE = re.compile(r"^(?=.*[0-9])(?=.*[A-Z])[A-Z0-9]{10,20}$")

_SCIENTIFIC_RE = re.compile(r"^\s*([0-9])(?:[.,]([0-9]+))?\s*[eE]\s*\+?\s*([0-9]{1,3})\s*$")
_TRAILING_ZERO_RE = re.compile(r"^\s*([0-9]+)\.0+\s*$")


def clean_text(text: str) -> str:
    """Remove zero-width characters, turn NBSP and other space look-alikes into spaces, trim."""
    if not text:
        return ""
    return " ".join(text.translate(_TRANSLATE).split())


def normalize_code(text: str) -> str:
    """The join key of a completion code: cleaned, junk around it stripped, case-folded.

    Internal characters are kept as they are: a code with a space inside is not silently repaired
    (see `code_tokens` for pulling a code out of a sentence).
    """
    if text.isalnum() and text.isascii():  # the common case, ~10x faster than the general path
        return text.lower()
    return clean_text(text).strip(_JUNK_AROUND).casefold()


def code_tokens(text: str, min_length: int = 4) -> list[str]:
    """Normalized word-like tokens of a text, in order, without repeats (for codes inside sentences)."""
    seen: dict[str, None] = {}
    for tok in _TOKEN_RE.findall(clean_text(text)):
        if len(tok) >= min_length:
            seen.setdefault(tok.casefold(), None)
    return list(seen)


def worker_key(text: str) -> str:
    """Normalize a worker ID (captured or typed): upper case, no spaces or junk.

    A typed value such as "my id is a1b2c3d4e5f6g7" keeps only the ID-shaped token when there is
    exactly one. The leading "A" is *not* added here (see `worker_ids_agree`), because guessing it
    would make "AAB..." and "AB..." collide.
    """
    if text.isalnum() and text.isascii():
        return text.upper()
    cleaned = clean_text(text).upper()
    if not cleaned:
        return ""
    if " " in cleaned:
        shaped = [t for t in re.split(r"[^A-Z0-9]+", cleaned) if _WORKER_RE.match(t)]
        if len(shaped) == 1:
            return shaped[0]
    return re.sub(r"[^A-Z0-9]", "", cleaned)


def looks_like_worker_id(text: str) -> bool:
    """True when text (after normalization) has the shape of an MTurk WorkerId.

    Only "A..." forms count here: a pure number is a code, never a worker ID.
    """
    key = worker_key(text)
    return bool(_WORKER_RE.match(key)) and any(c.isdigit() for c in key) and any(c.isalpha() for c in key[1:])


def worker_ids_agree(typed_key: str, actual_key: str) -> bool:
    """Does a typed (normalized) worker ID name this worker? Tolerates the missing leading "A"."""
    if not typed_key or not actual_key:
        return False
    return typed_key == actual_key or ("A" + typed_key == actual_key and len(typed_key) >= 9)


def worker_lookup_keys(actual_key: str) -> tuple[str, ...]:
    """Keys under which a typed form of this worker ID may have been indexed (see worker_ids_agree)."""
    if not actual_key:
        return ()
    if actual_key.startswith("A") and len(actual_key) >= 10:
        return (actual_key, actual_key[1:])
    return (actual_key,)


def excel_damage(text: str) -> str | None:
    """Describe spreadsheet damage to a code ("2.95061E+08", "12345.0"), or None when there is none.

    The damage is reported, never repaired: the digits Excel dropped are gone.
    """
    if not text or text.isalnum():  # damage always brings a "." or "+"
        return None
    t = clean_text(text)
    if _SCIENTIFIC_RE.match(t):
        return f"{t!r} is in scientific notation, as Excel writes long numbers; digits were lost"
    if _TRAILING_ZERO_RE.match(t):
        return f"{t!r} ends in '.0', as a spreadsheet or pandas writes a number read as a decimal"
    return None


def excel_damage_prefix(text: str) -> tuple[str, int] | None:
    """For scientific notation, (leading digits kept, total digit count): "2.95061E+08" -> ("295061", 9).

    For a trailing ".0", (the integer digits, their count). Used only to *suggest* responses.
    """
    t = clean_text(text)
    m = _SCIENTIFIC_RE.match(t)
    if m:
        lead, frac, exp = m.group(1), (m.group(2) or ""), int(m.group(3))
        digits = (lead + frac).rstrip("0") or lead
        # Excel rounds the last kept digit, so only the digits before it are certain.
        certain = digits[:-1] if len(digits) > 1 else digits
        return certain, exp + 1
    m = _TRAILING_ZERO_RE.match(t)
    if m:
        return m.group(1), len(m.group(1))
    return None


# ---------------------------------------------------------------- near misses

_CONFUSABLE = str.maketrans({"o": "0", "i": "1", "l": "1"})


def confusion_fold(code: str) -> str:
    """Fold the characters people confuse when copying by eye (O/0, I/1, l/1) onto one form."""
    return code.casefold().translate(_CONFUSABLE)


def _deletions(s: str) -> Iterator[str]:
    yield s
    for i in range(len(s)):
        yield s[:i] + s[i + 1 :]


def within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance <= 1: one substitution, insertion, deletion or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    # b is one longer: deleting one character of b must give a.
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def near_misses(queries: Iterable[str], codes: Iterable[str], *, min_length: int = 5) -> dict[str, list[str]]:
    """For each query, the codes within one edit of it (sorted); queries with none are left out.

    The relation is symmetric, so the smaller side is indexed and the larger one only scanned:
    a few hundred unmatched codes against 100k responses builds a few thousand index keys,
    not a million.
    """
    qs = {q for q in queries if len(q) >= min_length}
    cs = {c for c in codes if len(c) >= min_length}
    found: dict[str, set[str]] = defaultdict(set)
    if not qs or not cs:
        return {}
    small, large, small_is_query = (qs, cs, True) if len(qs) <= len(cs) else (cs, qs, False)
    index = NearMissIndex(small, min_length=min_length)
    keys = index._index
    key_set = keys.keys()
    lengths = {len(x) for x in small}
    near_lengths = lengths | {n - 1 for n in lengths} | {n + 1 for n in lengths}
    candidates: list[tuple[str, str]] = []
    for other in large:
        n = len(other)
        if n not in near_lengths:
            continue
        folded = confusion_fold(other)
        # isdisjoint runs at C speed; only the rare code that shares a key is looked at closely.
        if folded in key_set or not key_set.isdisjoint([folded[:i] + folded[i + 1 :] for i in range(n)]):
            candidates.append((folded, other))
    for folded, other in candidates:
        for key in _deletions(folded):
            for hit in keys.get(key, ()):
                if hit != other and within_one_edit(folded, confusion_fold(hit)):
                    if small_is_query:
                        found[hit].add(other)
                    else:
                        found[other].add(hit)
    return {q: sorted(v) for q, v in found.items()}


class NearMissIndex:
    """Find codes within one edit/transposition (after folding O/0, I/1) of a query, without
    comparing all pairs: a symmetric deletion-neighbourhood index (each code is stored under
    itself and each one-character deletion; two strings within one edit share a key).

    Build it over the codes that may be suggested; query with each code that found no exact match.
    Keys are the folded forms; values are the original normalized codes.
    """

    def __init__(self, codes: Iterable[str], *, min_length: int = 5) -> None:
        self.min_length = min_length
        self._index: dict[str, list[str]] = defaultdict(list)
        for code in set(codes):
            if len(code) < min_length:
                continue
            folded = confusion_fold(code)
            for key in set(_deletions(folded)):
                self._index[key].append(code)

    def lookup(self, query: str) -> list[str]:
        """Codes within one edit of `query` (never `query` itself), sorted for a stable order."""
        if len(query) < self.min_length:
            return []
        folded = confusion_fold(query)
        found: set[str] = set()
        for key in set(_deletions(folded)):
            for code in self._index.get(key, ()):
                if code != query and code not in found and within_one_edit(folded, confusion_fold(code)):
                    found.add(code)
        return sorted(found)


# ---------------------------------------------------------------- MTurk timestamps

_TZ_OFFSETS = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
}
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_OLD_TIME_RE = re.compile(r"^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d):(\d\d)\s+([A-Z]{1,5})\s+(\d{4})$")
_NEW_TIME_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.\d+)?\s*(UTC|GMT|Z|[+-]\d\d:?\d\d)?$"
)


def parse_mturk_time(text: str):
    """Parse an MTurk timestamp into an aware datetime, or None when it cannot be read.

    Both styles of the batch CSV: "Wed Nov 15 08:28:41 PST 2017" (older) and
    "2018-10-08 17:46:38 UTC" (newer), plus ISO 8601 as the API listing gives it.
    """
    from datetime import datetime, timedelta, timezone

    t = clean_text(text)
    if not t:
        return None
    m = _OLD_TIME_RE.match(t)
    if m:
        mon, day, hh, mm, ss, tz, year = m.groups()
        if mon.title() not in _MONTHS or tz not in _TZ_OFFSETS:
            return None
        try:
            return datetime(int(year), _MONTHS[mon.title()], int(day), int(hh), int(mm), int(ss),
                            tzinfo=timezone(timedelta(hours=_TZ_OFFSETS[tz])))
        except ValueError:
            return None
    m = _NEW_TIME_RE.match(t)
    if m:
        y, mo, d, hh, mm, ss, tz = m.groups()
        if tz in (None, "UTC", "GMT", "Z"):
            tzinfo = timezone.utc
        else:
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        try:
            return datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss), tzinfo=tzinfo)
        except ValueError:
            return None
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
