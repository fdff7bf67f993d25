"""normalize.near_misses scans the larger side by window keys (_WindowIndex); it must give exactly what
the deletion scan it replaced gave, kept here as the reference: every pair within one edit after
folding O/0, I/1, l/1 and case, and the old scan's own ways with codes whose folding changes their
length ("ß" -> "ss", "İ" -> "i̇"), which it cut by their unfolded length."""

from __future__ import annotations

import sys
from collections import defaultdict

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconcile.normalize import NearMissIndex, _deletions, _windows, confusion_fold, near_misses, within_one_edit


def reference_near_misses(queries, codes, *, min_length=5):
    """near_misses as it was before the window keys (commit e00c6b2), unchanged."""
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
    candidates = []
    for other in large:
        n = len(other)
        if n not in near_lengths:
            continue
        folded = confusion_fold(other)
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


def _one_edit_away(draw, code: str, alphabet: str) -> str:
    """A code one substitution, insertion, deletion or swap away (so that near pairs are common)."""
    kind = draw(st.sampled_from(["sub", "ins", "del", "swap", "same"]))
    i = draw(st.integers(0, len(code)))
    c = draw(st.sampled_from(alphabet))
    if kind == "sub" and i < len(code):
        return code[:i] + c + code[i + 1 :]
    if kind == "ins":
        return code[:i] + c + code[i:]
    if kind == "del" and i < len(code):
        return code[:i] + code[i + 1 :]
    if kind == "swap" and i + 1 < len(code):
        return code[:i] + code[i + 1] + code[i] + code[i + 2 :]
    return code


@st.composite
def studies(draw, alphabet: str):
    base = draw(st.lists(st.text(alphabet, min_size=3, max_size=11), min_size=1, max_size=25))
    codes = base + [_one_edit_away(draw, draw(st.sampled_from(base)), alphabet) for _ in range(draw(st.integers(0, 15)))]
    queries = [_one_edit_away(draw, draw(st.sampled_from(codes)), alphabet) for _ in range(draw(st.integers(0, 12)))]
    queries += draw(st.lists(st.text(alphabet, min_size=3, max_size=11), max_size=4))
    return queries, codes


DIGITS = "0123456789"
CONFUSING = "01OIl9aAoiL"
UNICODE = "01aOlßİﬁΣσςK\u212a"  # folding changes the length of some (ß, İ, ﬁ); the Kelvin sign folds to k


@settings(max_examples=400, deadline=None)
@given(studies(DIGITS) | studies(DIGITS + "\u0663\u00b2") | studies(CONFUSING) | studies(UNICODE), st.integers(3, 6))
@example((["123456789"], ["123456798", "12345678", "1234567890", "023456789", "123456789"]), 5)
@example((["straße", "strasse"], ["strasze", "STRASSE", "straßen"]), 5)
def test_window_scan_equals_the_deletion_scan(study, min_length):
    queries, codes = study
    assert near_misses(queries, codes, min_length=min_length) == reference_near_misses(queries, codes, min_length=min_length)
    # either side may be the larger one (the index is built over the smaller)
    assert near_misses(codes, queries, min_length=min_length) == reference_near_misses(codes, queries, min_length=min_length)


def test_digits_fold_to_themselves():
    digits = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isdigit()]
    assert all(confusion_fold(d) == d for d in digits)  # what near_misses' digits-only shortcut relies on


@given(st.integers(0, 40))
def test_windows_cover_every_position_and_every_neighbour_pair(length):
    windows = _windows(length)
    for i in range(length):  # a substitution or deletion at i
        assert any(lo <= i < hi for lo, hi in windows)
    for i in range(length + 1):  # an insertion before i
        assert any(lo <= i <= hi for lo, hi in windows)
    for i in range(length - 1):  # a swap of i and i + 1
        assert any(lo <= i and i + 1 < hi for lo, hi in windows)
