"""parse_date: every unambiguous stated date normalised, everything else refused with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsdesk.index.dates import ParsedDate, parse_date


@pytest.mark.parametrize("text, expected", [
    # ISO 8601
    ("2023-01-05", "2023-01-05"),
    ("20230105", "2023-01-05"),
    (" 2023-01-05\n", "2023-01-05"),
    ("2023-01-05T10:00:00Z", "2023-01-05T10:00:00+00:00"),
    ("2023-01-05T10:00:00.123456+00:00", "2023-01-05T10:00:00+00:00"),
    ("2023-01-05 10:00:00+02:00", "2023-01-05T08:00:00+00:00"),
    ("2023-01-05 10:00:00 +02:00", "2023-01-05T08:00:00+00:00"),
    # year first with slashes or dots
    ("2023/01/05", "2023-01-05"),
    ("2023.01.05", "2023-01-05"),
    ("2023/1/5", "2023-01-05"),
    # RFC 2822
    ("Thu, 05 Jan 2023 10:00:00 GMT", "2023-01-05T10:00:00+00:00"),
    ("Thu, 05 Jan 2023 10:00:00 +0000", "2023-01-05T10:00:00+00:00"),
    ("Thu, 05 Jan 2023 10:00:00 -0000", "2023-01-05T10:00:00+00:00"),
    ("Thu, 05 Jan 2023 10:00:00 UT", "2023-01-05T10:00:00+00:00"),
    ("Thu, 05 Jan 2023 10:00:00 +0530", "2023-01-05T04:30:00+00:00"),
    ("5 Jan 2023 10:00 EST", "2023-01-05T15:00:00+00:00"),
    # written dates
    ("10 January 2022, 18:42 GMT", "2022-01-10T18:42:00+00:00"),
    ("January 10, 2022", "2022-01-10"),
    ("Jan 10th, 2022", "2022-01-10"),
    ("Monday 10 January 2022", "2022-01-10"),
    ("Monday, January 10, 2022", "2022-01-10"),
    ("Jan. 10, 2022 6:42 p.m. ET", "2022-01-10T23:42:00+00:00"),  # Eastern standard time: UTC-5
    ("Jul. 10, 2022 6:42 p.m. ET", "2022-07-10T22:42:00+00:00"),  # Eastern daylight time: UTC-4
    # day/month order that only one reading allows
    ("13/01/2023", "2023-01-13"),
    ("01/13/2023", "2023-01-13"),
    ("01/01/2023", "2023-01-01"),
])
def test_accepted_formats(text: str, expected: str) -> None:
    assert parse_date(text) == ParsedDate(expected, None)


@pytest.mark.parametrize("text, expected", [
    ("2023-01-05T10:00:00+01:00", "2023-01-05T09:00:00+00:00"),
    ("5 Jan 2023 10:00 EDT", "2023-01-05T14:00:00+00:00"),
    ("5 Jan 2023 10:00 CST", "2023-01-05T16:00:00+00:00"),
    ("5 Jan 2023 10:00 CDT", "2023-01-05T15:00:00+00:00"),
    ("5 Jan 2023 10:00 MST", "2023-01-05T17:00:00+00:00"),
    ("5 Jan 2023 10:00 MDT", "2023-01-05T16:00:00+00:00"),
    ("5 Jan 2023 10:00 PST", "2023-01-05T18:00:00+00:00"),
    ("5 Jan 2023 10:00 PDT", "2023-01-05T17:00:00+00:00"),
    ("5 Jun 2023 10:00 BST", "2023-06-05T09:00:00+00:00"),
    ("5 Jan 2023 10:00 CET", "2023-01-05T09:00:00+00:00"),
    ("5 Jun 2023 10:00 CEST", "2023-06-05T08:00:00+00:00"),
    ("5 Jan 2023 10:00 UTC", "2023-01-05T10:00:00+00:00"),
    ("10 January 2022 18:42 +0200 (CEST)", "2022-01-10T16:42:00+00:00"),
    # the day changes when converted
    ("Thu, 05 Jan 2023 22:30:00 EST", "2023-01-06T03:30:00+00:00"),
    ("2023-01-01T01:00:00+05:00", "2022-12-31T20:00:00+00:00"),
    ("2024-03-01T00:30:00+01:00", "2024-02-29T23:30:00+00:00"),
])
def test_time_zones_are_converted_to_utc(text: str, expected: str) -> None:
    assert parse_date(text) == ParsedDate(expected, None)


@pytest.mark.parametrize("text, expected", [
    ("2023-01-05T10:00:00", "2023-01-05T10:00:00"),
    ("2023-01-05 10:00", "2023-01-05T10:00:00"),
    ("2023-01-05T23:59:59.999999", "2023-01-05T23:59:59"),
    ("2023/01/05 10:00", "2023-01-05T10:00:00"),
    ("10 January 2022 at 6:42 pm", "2022-01-10T18:42:00"),
])
def test_a_date_time_without_a_zone_is_kept_as_stated(text: str, expected: str) -> None:
    assert parse_date(text) == ParsedDate(expected, None)


@pytest.mark.parametrize("stamp, expected", [
    (1672912800, "2023-01-05T10:00:00+00:00"),
    (1672912800.75, "2023-01-05T10:00:00+00:00"),
    ("1672912800", "2023-01-05T10:00:00+00:00"),
    ("1672912800.5", "2023-01-05T10:00:00+00:00"),
    (1672912800123, "2023-01-05T10:00:00+00:00"),
    ("1672912800123", "2023-01-05T10:00:00+00:00"),
    (631152000, "1990-01-01T00:00:00+00:00"),
    ("631152000000", "1990-01-01T00:00:00+00:00"),
    (4133980799, "2100-12-31T23:59:59+00:00"),
])
def test_epoch_seconds_and_milliseconds(stamp: int | float | str, expected: str) -> None:
    assert parse_date(stamp) == ParsedDate(expected, None)


@pytest.mark.parametrize("stamp", [0, -5, 631151999, 4133980800, 123456789012345, 20230105, float("nan"), float("inf"), True])
def test_implausible_epochs_are_refused(stamp: int | float) -> None:
    assert parse_date(stamp) == ParsedDate(None, f"implausible epoch timestamp {stamp!r} (neither seconds nor milliseconds in 1990..2100)")


@pytest.mark.parametrize("text, warning", [
    ("01/02/2023", "ambiguous date '01/02/2023' (day/month or month/day?)"),
    ("12.11.2023", "ambiguous date '12.11.2023' (day/month or month/day?)"),
    ("01/02/23", "ambiguous date '01/02/23' (two-digit year)"),
    ("5 Jan 23", "ambiguous date '5 Jan 23' (two-digit year)"),
    ("Thu, 05 Jan 23 10:00:00 GMT", "ambiguous date 'Thu, 05 Jan 23 10:00:00 GMT' (two-digit year)"),
    ("230105", "ambiguous date '230105' (two-digit year)"),
    ("10 Jan 2023 10:00 GMT+3", "ambiguous time zone in '10 Jan 2023 10:00 GMT+3' (GMT+N: UTC offset or POSIX sign?)"),
    ("Tuesday 10 January 2022", "contradictory date 'Tuesday 10 January 2022' (the weekday does not match the date)"),
    ("10 January 2022 10:00 IST", "unknown time zone 'IST' in '10 January 2022 10:00 IST'"),
])
def test_ambiguous_dates_are_refused(text: str, warning: str) -> None:
    assert parse_date(text) == ParsedDate(None, warning)


@pytest.mark.parametrize("text", ["2023", "January 2022", "10 January", "Tuesday", "10:00", "10:00 GMT"])
def test_partial_dates_are_never_completed(text: str) -> None:
    assert parse_date(text) == ParsedDate(None, f"incomplete date {text!r} (year, month and day are all needed)")


@pytest.mark.parametrize("text, reason", [
    ("30 February 2023", "day is out of range for month"),
    ("2023-02-30", "day is out of range for month"),
    ("2023-02-29T10:00:00Z", "day is out of range for month"),
    ("2023-13-01", "month must be in 1..12"),
    ("2023/13/05", "month must be in 1..12"),  # year first is always year/month/day, never year/day/month
    ("10 Jan 2023 25:00", "hour must be in 0..23"),
])
def test_impossible_dates_are_refused(text: str, reason: str) -> None:
    assert parse_date(text) == ParsedDate(None, f"impossible date {text!r} ({reason})")


@pytest.mark.parametrize("text", ["next tuesday-ish", "Published 10 January 2022", "2023-W01", "yesterday", "n/a", "10 Januarish 2022"])
def test_garbage_is_unparseable(text: str) -> None:
    assert parse_date(text) == ParsedDate(None, f"unparseable date {text!r}")


@pytest.mark.parametrize("empty", [None, "", "   \n"])
def test_empty_input_is_no_date_and_no_warning(empty: str | None) -> None:
    assert parse_date(empty) == ParsedDate(None, None)


_ZONES = st.one_of(
    st.timezones(),
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)


@given(st.datetimes(min_value=datetime(1990, 1, 2), max_value=datetime(2100, 12, 30), timezones=_ZONES))
def test_iso_rfc_2822_and_epoch_forms_agree(moment: datetime) -> None:
    expected = moment.astimezone(timezone.utc).replace(microsecond=0).isoformat()
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    forms = [moment.isoformat(), format_datetime(moment), moment.timestamp(), (moment - epoch) // timedelta(milliseconds=1)]
    assert [parse_date(form) for form in forms] == [ParsedDate(expected, None)] * len(forms)
    assert expected[:10] == moment.astimezone(timezone.utc).date().isoformat()
