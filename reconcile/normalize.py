"""Normalizing what people typed: completion codes (participant IDs follow each platform's rules:
platform.ParticipantIds).

Pure functions, no I/O. The matcher joins on the *normalized* forms; the raw text is kept everywhere
else so the PI sees exactly what the participant submitted.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import compress, repeat
from operator import concat, itemgetter, ne
from typing import Iterable, Iterator

# Characters that are invisible or look like a space but are not one; copy-paste from web pages and
# chat apps brings them along, and an exact string comparison then fails for no visible reason.
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACE_LIKE = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009\u200a\u3000\t\r\n\v\f"), " ")
_TRANSLATE = {**_ZERO_WIDTH, **_SPACE_LIKE}

# Quotes, brackets and sentence punctuation that participants leave around a pasted code.
_JUNK_AROUND = " \"'`“”‘’«».,;:!?()[]{}<>*#=~|/\\"

_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*[A-Za-z0-9]|[A-Za-z0-9]")


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
        key = text.lower()
        # The cell itself when it is its own key (digits, lower case): the matcher holds a key per
        # row, and a second copy of every code was 60 MB per million rows.
        return text if key == text else key
    return clean_text(text).strip(_JUNK_AROUND).casefold()


def code_tokens(text: str, min_length: int = 4) -> list[str]:
    """Normalized word-like tokens of a text, in order, without repeats (for codes inside sentences)."""
    seen: dict[str, None] = {}
    for tok in _TOKEN_RE.findall(clean_text(text)):
        if len(tok) >= min_length:
            seen.setdefault(tok.casefold(), None)
    return list(seen)


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
    not a million. The scan is window keys at C speed (_WindowIndex): a million live codes were
    each cut into all their one-character deletions before.
    """
    qs, cs = _long_enough(queries, min_length), _long_enough(codes, min_length)
    found: dict[str, set[str]] = defaultdict(set)
    if not qs or not cs:
        return {}
    small, large, small_is_query = (qs, cs, True) if len(qs) <= len(cs) else (cs, qs, False)
    lengths = {len(x) for x in small}
    near_lengths = lengths | {n - 1 for n in lengths} | {n + 1 for n in lengths}
    others = list(large)
    odd: set[int] = set()
    if all(map(str.isdigit, others)):  # digits fold to themselves (no digit of Unicode has a case or a confusion)
        folded = others
        fold_lengths = list(map(len, others))
    else:
        folded = list(map(str.translate, map(str.casefold, others), repeat(_CONFUSABLE)))  # confusion_fold, in C
        fold_lengths = list(map(len, folded))
        # A code whose folding changes its length ("ß" -> "ss") keeps the deletion scan it always had
        # (which cuts by the unfolded length): the window keys below assume the two lengths agree.
        odd = set(compress(range(len(others)), map(ne, map(len, others), fold_lengths)))
    windows = _WindowIndex(small)
    candidates: set[int] = set()
    by_length = Counter(fold_lengths)
    for n in by_length.keys() & near_lengths:
        if by_length[n] == len(others):  # codes of one length (the common case): no copies of the index and codes
            at: Iterable[int] = range(len(others))
            these = folded
        else:
            at = list(compress(range(len(others)), map(n.__eq__, fold_lengths)))
            these = list(map(folded.__getitem__, at))
        for keys, head, tail_from in windows.cuts(n):
            # at[j] is a candidate when its window key is among the small side's: a map per window, no loop per code
            cut = map(concat, map(itemgetter(slice(None, head)), these), map(itemgetter(slice(tail_from, None)), these))
            candidates.update(compress(at, map(keys.__contains__, cut)))
    candidates -= odd
    for i in candidates:
        other, fold = others[i], folded[i]
        for hit, hit_fold in windows.near(fold):
            if hit != other and within_one_edit(fold, hit_fold):
                if small_is_query:
                    found[hit].add(other)
                else:
                    found[other].add(hit)
    if odd:
        _deletion_scan([others[i] for i in odd], small, near_lengths, found, small_is_query, min_length)
    return {q: sorted(v) for q, v in found.items()}


def _long_enough(texts: Iterable[str], min_length: int) -> set[str]:
    texts = list(texts)
    return set(compress(texts, map(min_length.__le__, map(len, texts))))


def _deletion_scan(large: list[str], small: set[str], near_lengths: set[int], found: dict[str, set[str]],
                   small_is_query: bool, min_length: int) -> None:
    """The scan by every one-character deletion (NearMissIndex's keys), for the codes _WindowIndex leaves out."""
    index = NearMissIndex(small, min_length=min_length)
    keys = index._index
    key_set = keys.keys()
    for other in large:
        n = len(other)
        if n not in near_lengths:
            continue
        folded = confusion_fold(other)
        if not (folded in key_set or not key_set.isdisjoint([folded[:i] + folded[i + 1 :] for i in range(n)])):
            continue
        for key in _deletions(folded):
            for hit in keys.get(key, ()):
                if hit != other and within_one_edit(folded, confusion_fold(hit)):
                    if small_is_query:
                        found[hit].add(other)
                    else:
                        found[other].add(hit)


class _WindowIndex:
    """The small side of near_misses, keyed so that a code within one edit of one of its codes shares a key with it.

    A folded code `a` of length L is cut into segments of two characters; window j runs from one
    character before segment j to its end, and a's key for it is `a` without that window. One edit
    (a substitution, a swap of neighbours, an insertion or a deletion) falls inside some window, so
    the other code without the same window (one character wider for an insertion, narrower for a
    deletion) equals that key. Keys are 2-3 characters shorter than the codes: selective, where
    halves of nine-digit codes (four digits each) were shared with thousands of codes.
    """

    def __init__(self, codes: Iterable[str]) -> None:
        # (L, window) -> key -> [(code, folded code)]: a dict per window, so that a key is only ever
        # compared with keys cut the same way (one dict for all windows made three times the candidates).
        self._keys: dict[tuple[int, int], dict[str, list[tuple[str, str]]]] = {}
        for code in codes:
            fold = confusion_fold(code)
            length = len(fold)
            for j, (lo, hi) in enumerate(_windows(length)):
                keys = self._keys.get((length, j))
                if keys is None:
                    keys = self._keys[(length, j)] = {}
                key = fold[:lo] + fold[hi:]
                pairs = keys.get(key)
                if pairs is None:
                    keys[key] = [(code, fold)]
                else:
                    pairs.append((code, fold))
        self._cuts: dict[int, list[tuple[dict[str, list[tuple[str, str]]], int, int]]] = {}

    def cuts(self, n: int) -> list[tuple[dict[str, list[tuple[str, str]]], int, int]]:
        """For codes of length n: (the keys of one window of a length L, and the cut [:head] + [tail_from:]
        that removes that window from a code of length n)."""
        got = self._cuts.get(n)
        if got is None:
            got = self._cuts[n] = []
            for length in (n - 1, n, n + 1):
                shift = n - length  # +1: the other code is one longer (the window takes the inserted character too)
                for j, (lo, hi) in enumerate(_windows(length)):
                    keys = self._keys.get((length, j))
                    if keys is not None:
                        got.append((keys, lo, hi + shift))
        return got

    def near(self, fold: str) -> list[tuple[str, str]]:
        """The small side's (code, folded code) sharing a key with `fold` (repeats possible)."""
        got: list[tuple[str, str]] = []
        for keys, head, tail_from in self.cuts(len(fold)):
            pairs = keys.get(fold[:head] + fold[tail_from:])
            if pairs is not None:
                got += pairs
        return got


def _windows(length: int) -> list[tuple[int, int]]:
    """[lo, hi) of each window of a code of `length`: segments of two characters, each window reaching one back."""
    got = _WINDOWS.get(length)
    if got is None:
        bounds = [*range(0, length, 2), length] if length else [0, 0]
        got = _WINDOWS[length] = [(max(b - 1, 0), e) for b, e in zip(bounds, bounds[1:])]
    return got


_WINDOWS: dict[int, list[tuple[int, int]]] = {}


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
