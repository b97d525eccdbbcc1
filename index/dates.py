"""A publication date as an archive states it, normalised to one ISO 8601 string.

Only what the input states is kept; nothing is guessed:

* a date alone stays a date: ``YYYY-MM-DD``;
* a date-time with a time zone (an offset, ``Z`` or a known abbreviation such as GMT, EST,
  CEST, or ET for US Eastern time with its summer time) is converted to UTC:
  ``YYYY-MM-DDTHH:MM:SS+00:00``;
* a date-time without a time zone is kept as stated, with no zone invented:
  ``YYYY-MM-DDTHH:MM:SS``;
* Unix epoch seconds or milliseconds (a number, or a string of 9 or more digits) within
  1990..2100 are UTC date-times.

Seconds are always written and fractions of a second are dropped. The first 10
characters are therefore always the date, which is what downstream filters compare.

Ambiguous input (``01/02/2023``, two-digit years, ``GMT+3``), partial input (a bare year,
``January 2022``, an ISO week), impossible dates, a weekday that contradicts the date and
unknown zone names give ``value=None`` and a warning saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil.parser import parser

__all__ = ["ParsedDate", "parse_date"]

_UTC = timezone.utc
# Fixed-offset names (RFC 2822's and the common European ones), plus the US
# generic names whose offset depends on the date, resolved with the tz database.
_ZONES: dict[str, tzinfo] = {
    **{name: timezone(timedelta(hours=hours), name) for name, hours in {
        "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
        "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "BST": 1, "CET": 1, "CEST": 2}.items()},
    **{name: ZoneInfo(key) for name, key in {
        "ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver", "PT": "America/Los_Angeles"}.items()},
}
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
# Plausible publication times, 1990..2100, as seconds since the epoch.
_FIRST, _LAST = ((datetime(year, 1, 1, tzinfo=_UTC) - _EPOCH).total_seconds() for year in (1990, 2101))
_EPOCH_DIGITS = re.compile(r"\d{9,}(?:\.\d+)?")  # shorter digit runs are dates (20230105) or years
# dateutil reads "GMT+3" the POSIX way (UTC-3); news sites mean UTC+3.
_SIGNED_UTC = re.compile(r"\b(?:GMT|UTC)\s*[+-]", re.I)
_PARSER = parser()


@dataclass(frozen=True)
class ParsedDate:
    """The normalised date (``None`` if not used) and, for a non-empty input not used, why."""

    value: str | None
    warning: str | None


def parse_date(text: str | int | float | None) -> ParsedDate:
    """Normalise a stated date, date-time or epoch timestamp (see the module docstring)."""
    if isinstance(text, (int, float)):
        return _from_epoch(text, repr(text))
    if text is None or not text.strip():
        return ParsedDate(None, None)
    text = text.strip()
    if _EPOCH_DIGITS.fullmatch(text):
        return _from_epoch(float(text), repr(text))
    if "W" not in text.upper():  # ISO week dates: "2023-W01" would become its Monday
        try:
            return ParsedDate(date.fromisoformat(text).isoformat(), None)
        except ValueError:
            pass
        try:
            return _written(datetime.fromisoformat(text))
        except (ValueError, OverflowError):  # dateutil below says why
            pass
    return _from_words(text)


def _from_epoch(number: float, shown: str) -> ParsedDate:
    """Seconds if plausible as seconds, else milliseconds if plausible as those: the ranges do not overlap."""
    for unit in (timedelta(seconds=1), timedelta(milliseconds=1)):
        if _FIRST <= number * unit.total_seconds() < _LAST:  # also refuses NaN and infinities
            return _written(_EPOCH + unit * number)
    return ParsedDate(None, f"implausible epoch timestamp {shown} (neither seconds nor milliseconds in 1990..2100)")


def _from_words(text: str) -> ParsedDate:
    """RFC 2822, written and other numeric dates, read by dateutil without filling anything in.

    ``parser._parse`` (not ``parse``) because it reports what was stated: ``parse`` fills
    missing fields from a default date and silently expands two-digit years. Not fuzzy, so
    any word it does not know makes the whole input unparseable.
    """
    if _SIGNED_UTC.search(text):
        return ParsedDate(None, f"ambiguous time zone in {text!r} (GMT+N: UTC offset or POSIX sign?)")
    stated, _ = _PARSER._parse(text)
    if stated is None:
        return ParsedDate(None, f"unparseable date {text!r}")
    if None in (stated.year, stated.month, stated.day):
        return ParsedDate(None, f"incomplete date {text!r} (year, month and day are all needed)")
    if not stated.century_specified:
        return ParsedDate(None, f"ambiguous date {text!r} (two-digit year)")
    day_first, _ = _PARSER._parse(text, dayfirst=True)
    # A leading 4-digit year is Y/M/D (dateutil would also try Y/D/M, which nobody writes).
    if (day_first.month, day_first.day) != (stated.month, stated.day) and not text.startswith(str(stated.year)):
        return ParsedDate(None, f"ambiguous date {text!r} (day/month or month/day?)")
    if stated.tzoffset is None and stated.tzname and stated.tzname not in _ZONES:
        return ParsedDate(None, f"unknown time zone {stated.tzname!r} in {text!r}")
    try:
        day = date(stated.year, stated.month, stated.day)
        zone = _ZONES.get(stated.tzname) if stated.tzoffset is None else timezone(timedelta(seconds=stated.tzoffset))
        moment = None if stated.hour is None else datetime.combine(
            day, time(stated.hour, stated.minute or 0, stated.second or 0), tzinfo=zone)
    except (ValueError, OverflowError) as error:
        return ParsedDate(None, f"impossible date {text!r} ({error})")
    if stated.weekday not in (None, day.weekday()):  # "Tuesday 10 January 2022": which one is wrong?
        return ParsedDate(None, f"contradictory date {text!r} (the weekday does not match the date)")
    return ParsedDate(day.isoformat(), None) if moment is None else _written(moment)


def _written(moment: datetime) -> ParsedDate:
    """``moment`` in whole seconds: converted to UTC when it has a zone, as stated when not."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(_UTC)
    return ParsedDate(moment.replace(microsecond=0).isoformat(), None)
