"""Code and worker-ID normalization, Excel damage, timestamps, and the near-miss index."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile.normalize import (
    NearMissIndex,
    clean_text,
    code_tokens,
    confusion_fold,
    excel_damage,
    excel_damage_prefix,
    near_misses,
    normalize_code,
    within_one_edit,
)
from reconcile.platforms.mturk.ids import looks_like_worker_id, worker_ids_agree, worker_key, worker_lookup_keys
from reconcile.times import parse_timestamp as parse_mturk_time


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  123456 ", "123456"),
        ("\u200b123456\u200d", "123456"),
        ("\u00a0AbC-123\u00a0", "abc-123"),
        ('"123456".', "123456"),
        ("“xk7qp”", "xk7qp"),
        ("\ufeff987", "987"),
        ("", ""),
    ],
)
def test_normalize_code(raw, expected):
    assert normalize_code(raw) == expected


def test_clean_text_collapses_space_lookalikes():
    assert clean_text("a\u00a0\u202f b\tc\r\n") == "a b c"


def test_code_tokens_from_a_sentence():
    assert code_tokens("Thank you for participating.  Your validation code is: 295060572") == [
        "thank", "participating", "your", "validation", "code", "295060572",
    ]
    assert code_tokens("code 123 123 abcd abcd") == ["code", "abcd"]


@pytest.mark.parametrize(
    "typed, key",
    [
        ("a1b2c3d4e5f6g7", "A1B2C3D4E5F6G7"),
        ("  A1B2 C3D4E5F6G7 ", "A1B2C3D4E5F6G7"),
        ("my worker id is A1B2C3D4E5F6G7 thanks", "A1B2C3D4E5F6G7"),
        ("\u200bA1B2C3D4E5F6G7.", "A1B2C3D4E5F6G7"),
        ("", ""),
    ],
)
def test_worker_key(typed, key):
    assert worker_key(typed) == key


def test_worker_ids_agree_tolerates_missing_leading_a_only():
    assert worker_ids_agree("LEPVBEDFK9X4K", "ALEPVBEDFK9X4K")
    assert worker_ids_agree("ALEPVBEDFK9X4K", "ALEPVBEDFK9X4K")
    assert not worker_ids_agree("LEPVBEDFK9X4", "ALEPVBEDFK9X4K")
    assert not worker_ids_agree("", "A1")
    assert not worker_ids_agree("ALEPVBEDFK9X4K", "LEPVBEDFK9X4K")  # never drops an A from the real ID
    assert worker_lookup_keys("ALEPVBEDFK9X4K") == ("ALEPVBEDFK9X4K", "LEPVBEDFK9X4K")


@pytest.mark.parametrize(
    "text, expected",
    [("A4913T1Y5BBGG1", True), (" a13hcojiu1cgap ", True), ("597423122", False), ("ABCDEFGHIJKLMN", False), ("A12", False), ("hello world", False)],
)
def test_looks_like_worker_id(text, expected):
    assert looks_like_worker_id(text) is expected


def test_excel_damage_detected_and_described_never_repaired():
    assert "scientific" in excel_damage("2.95061E+08")
    assert "scientific" in excel_damage("1.23457e+11")
    assert ".0" in excel_damage("12345.0")
    assert excel_damage("12345") is None and excel_damage("ABC.0") is None and excel_damage("") is None
    assert excel_damage_prefix("2.95061E+08") == ("29506", 9)
    assert excel_damage_prefix("12345.0") == ("12345", 5)


def test_within_one_edit_matches_brute_force_definition():
    assert within_one_edit("abcd", "abdc")
    assert within_one_edit("abcd", "abd")
    assert within_one_edit("abcd", "abxcd")
    assert not within_one_edit("abcd", "badc")
    assert not within_one_edit("abc", "bca")


def _brute(codes, query):
    fq = confusion_fold(query)
    return sorted(c for c in set(codes) if c != query and len(c) >= 5 and len(query) >= 5 and within_one_edit(fq, confusion_fold(c)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text("01OIl9a", min_size=3, max_size=8), max_size=25), st.text("01OIl9a", min_size=3, max_size=8))
def test_near_miss_index_agrees_with_comparing_all_pairs(codes, query):
    codes = [c.casefold() for c in codes]
    query = query.casefold()
    assert NearMissIndex(codes).lookup(query) == _brute(codes, query)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text("01OIl9a", min_size=4, max_size=7), max_size=30), st.lists(st.text("01OIl9a", min_size=4, max_size=7), max_size=8))
def test_near_misses_of_many_queries_agree_with_all_pairs(codes, queries):
    codes = [c.casefold() for c in codes]
    queries = [q.casefold() for q in queries]
    expected = {q: _brute(codes, q) for q in set(queries)}
    assert near_misses(queries, codes) == {q: v for q, v in expected.items() if v}
    # indexing either side gives the same answer
    assert near_misses(queries * 10, codes[:2]) == {q: v for q in set(queries) if (v := _brute(codes[:2], q))}


def test_near_miss_confusions():
    idx = NearMissIndex(["abocdefg", "xyizw9q8", "12345678"])
    assert idx.lookup("ab0cdefg") == ["abocdefg"]
    assert idx.lookup("xy1zw9q8") == ["xyizw9q8"]
    assert idx.lookup("21345678") == ["12345678"]
    assert idx.lookup("99999999") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Wed Nov 15 08:28:41 PST 2017", datetime(2017, 11, 15, 16, 28, 41, tzinfo=timezone.utc)),
        ("Sun Mar 12 10:00:00 PDT 2017", datetime(2017, 3, 12, 17, 0, 0, tzinfo=timezone.utc)),
        ("2018-10-08 17:46:38 UTC", datetime(2018, 10, 8, 17, 46, 38, tzinfo=timezone.utc)),
        ("2018-10-08T17:46:38+02:00", datetime(2018, 10, 8, 15, 46, 38, tzinfo=timezone.utc)),
        ("2018-10-08 17:46:38", datetime(2018, 10, 8, 17, 46, 38, tzinfo=timezone.utc)),
    ],
)
def test_parse_mturk_time(text, expected):
    assert parse_mturk_time(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "Wed Nov 15 08:28:41 XYZ 2017", "2018-13-08 17:46:38 UTC"])
def test_parse_mturk_time_unreadable(text):
    assert parse_mturk_time(text) is None


def test_folding_is_idempotent():
    for a, b in itertools.product("oO0iIl1x", repeat=2):
        assert confusion_fold(confusion_fold(a + b)) == confusion_fold(a + b)
