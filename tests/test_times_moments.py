"""times.Moments (the deadlines' fast reading) gives parse_timestamp's moment for every text: the
batch's own style read by its fixed places, everything else (and every oddity of that style) by
parse_timestamp itself."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reconcile.times import Moments, moment_us, parse_timestamp


def _slow(text: str) -> int | None:
    when = parse_timestamp(text)
    return None if when is None else moment_us(when)


_WEEKDAYS = st.sampled_from(["Thu", "Mon", "thu", "Xyz", "TH"])
_MONTHS = st.sampled_from(["Jan", "Feb", "Apr", "Dec", "APR", "apr", "Foo", "Ap"])
_DAYS = st.sampled_from(["01", "03", "28", "29", "30", "31", "00", "39", "3", " 3"])
_ZONES = st.sampled_from(["PST", "PDT", "UTC", "GMT", "EST", "XYZ", "Z", "pst"])
_YEARS = st.sampled_from(["2036", "2017", "0001", "0002", "9998", "9999", "0000", "2024", "1969", "1970"])
_CLOCK = st.tuples(st.integers(0, 29), st.integers(0, 69), st.integers(0, 69))


@st.composite
def batch_style(draw) -> str:
    hh, mm, ss = draw(_CLOCK)
    clock = draw(st.sampled_from([f"{hh:02d}:{mm:02d}:{ss:02d}", f"{hh:02d}:{mm:02d}.{ss:02d}", f"{hh}:{mm:02d}:{ss:02d}0"]))
    text = f"{draw(_WEEKDAYS)} {draw(_MONTHS)} {draw(_DAYS)} {clock} {draw(_ZONES)} {draw(_YEARS)}"
    if draw(st.booleans()):  # a space, a tab, a character more or less somewhere
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(["", " ", "\t", "0", "\u00a0"])) + text[i + draw(st.integers(0, 1)):]
    return text


@settings(max_examples=600, deadline=None)
@given(st.lists(batch_style() | st.text(max_size=30) | st.sampled_from(["", "  ", "2036-03-09 14:08:17 UTC"]), max_size=12))
@example(["Thu Apr 03 14:06:51 PST 2036", "Thu Apr 03 14:06:52 PST 2036", "Thu Feb 29 00:00:00 PST 2036",
          "Thu Feb 29 00:00:00 PST 2037", "Fri Dec 31 23:59:59 PST 9999", "Mon Jan 01 00:00:00 EST 0001",
          "Thu Apr 0\u0663 14:06:51 PST 2036", "Thu Apr 03 1\u0664:06:51 PST 2036", "Thu Apr 03 24:06:51 PST 2036",
          "Thu Apr 03 14:06:51 PST 2036 ", "Thu Apr 03 14:06:51 PST 203", "Thu Apr 03 14:06:5x PST 2036"])
def test_moments_agree_with_parse_timestamp(texts):
    moments = Moments()  # one reader for the whole list, as flag_deadlines uses it: its caches must not mislead
    for text in texts:
        assert moments.of(text) == _slow(text), text
