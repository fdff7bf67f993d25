"""Timestamps as platforms and exports write them, into aware datetimes. Imports only normalize (text cleaning).

Both styles of a batch-results download ("Wed Nov 15 08:28:41 PST 2017", older, and
"2018-10-08 17:46:38 UTC", newer) and ISO 8601 as APIs and newer exports give it
("2024-07-15T20:16:52.266000Z"; a time with no zone is read as UTC). Comparing parsed times, never
their text, is what tells one moment written in two styles apart from two moments.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .normalize import clean_text

_TZ_OFFSETS = {
    "UTC": 0, "GMT": 0, "Z": 0,
    "PST": -8, "PDT": -7, "MST": -7, "MDT": -6, "CST": -6, "CDT": -5, "EST": -5, "EDT": -4,
}
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_OLD_TIME_RE = re.compile(r"^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d):(\d\d)\s+([A-Z]{1,5})\s+(\d{4})$")
_NEW_TIME_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.\d+)?\s*(UTC|GMT|Z|[+-]\d\d:?\d\d)?$"
)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
# The batch download's own style, exactly as MTurk writes it ("Thu Apr 03 14:06:51 PST 2036"): every
# field at a fixed place, the time of day valid by its digits alone.
_OLD_TIME_EXACT = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} [0-3]\d (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d [A-Z]{3} \d{4}")
_CLOCK_EXACT = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d")


def moment_us(when: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch: exact, and compared as plainly as the datetime."""
    return (when - _EPOCH) // _MICROSECOND


class Moments:
    """parse_timestamp's moment as moment_us (None where it reads nothing), for a million deadlines.

    Each AutoApprovalTime of a batch is a different second, so a cache per text saves nothing and
    parse_timestamp costs microseconds each. Texts in the batch's own style are read by their fixed
    places instead, with one datetime per distinct day (its midnight); anything else, or a day that
    style cannot read plainly, goes to parse_timestamp itself, which stays the definition. (A text of
    the style's length is its day, read once, and its time of day, read once per distinct one: the
    text as a whole matches _OLD_TIME_EXACT exactly when both of its parts do.)
    """

    def __init__(self) -> None:
        # "Thu Apr 03 " + " PST 2036" -> that day's midnight as moment_us (None: not read by fixed places)
        self._midnight: dict[str, int | None] = {}
        self._clock: dict[str, int | None] = {}  # "14:06:51" -> microseconds since midnight (None: no time of day)
        self._other: dict[str, int | None] = {}

    def of(self, text: str) -> int | None:
        if len(text) == 28:  # the style's only length: the day and the time of day are looked up apart
            day = text[:11] + text[19:]
            midnight = self._midnight.get(day, -1)
            if midnight == -1:
                midnight = self._midnight[day] = (
                    _midnight_us(text) if _OLD_TIME_EXACT.fullmatch(text[:11] + "00:00:00" + text[19:]) else None
                )
            if midnight is not None:
                clock = text[11:19]
                since = self._clock.get(clock, -1)
                if since == -1:
                    since = self._clock[clock] = (
                        ((int(clock[:2]) * 60 + int(clock[3:5])) * 60 + int(clock[6:])) * 1_000_000
                        if _CLOCK_EXACT.fullmatch(clock) else None
                    )
                if since is not None:
                    return midnight + since
        got = self._other.get(text, -1)
        if got == -1:
            when = parse_timestamp(text)
            got = self._other[text] = None if when is None else moment_us(when)
        return got


def _midnight_us(text: str) -> int | None:
    """The moment a fixed-place old-style text's day begins, or None where parse_timestamp must judge (unknown
    month or zone, a day the month lacks, a year near the ends of the calendar)."""
    month, zone, year = _MONTHS.get(text[4:7]), _TZ_OFFSETS.get(text[20:23]), int(text[24:28])
    if month is None or zone is None or not 2 <= year <= 9998:
        return None
    try:
        return moment_us(datetime(year, month, int(text[8:10]), tzinfo=timezone(timedelta(hours=zone))))
    except ValueError:
        return None


def parse_timestamp(text: str) -> datetime | None:
    """An aware datetime, or None when the text is empty or cannot be read (a time whose UTC moment
    falls outside the years 1-9999 counts as unreadable: comparing it with another would raise)."""
    when = _parse_timestamp(text)
    if when is None:
        return None
    try:
        when.astimezone(timezone.utc)
    except OverflowError:
        return None
    return when


def _parse_timestamp(text: str) -> datetime | None:
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
        try:
            if tz in (None, "UTC", "GMT", "Z"):
                tzinfo = timezone.utc
            else:
                sign = 1 if tz[0] == "+" else -1
                digits = tz[1:].replace(":", "")
                # An offset of 24 hours or more is no offset at all (timezone() refuses it): unreadable.
                tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
            return datetime(int(y), int(mo), int(d), int(hh), int(mm), int(ss), tzinfo=tzinfo)
        except ValueError:
            return None
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
