"""Time frames: which dates a news question is about, relative to the moment it is asked.

"What did the Fed say last week?" asked on Friday 13 January 2023 is about 2–8 January
2023; asked a year later it is about another week. :func:`timeframe` turns the relative
time expression of a question into a date range relative to ``as_of`` and says whether
the question is about the present; :func:`parse_as_of` reads ``as_of`` from a request.

Conventions:

* dates are UTC calendar dates: ``as_of`` is converted to UTC (a naive one is taken as
  UTC) and its date is "today";
* ranges are inclusive at both ends; ``None`` is an open end ("since 2020" has no end,
  "before 2020" no start);
* weeks are ISO weeks, Monday to Sunday; a weekend is that week's Saturday and Sunday;
* a period that contains today ends today ("this week" asked on a Wednesday is Monday to
  Wednesday: nothing later has been reported yet), unless the question speaks of the
  future ("What will happen this week?" keeps Monday to Sunday);
* a day or month without a year ("on Tuesday", "in January", "on January 5") is the most
  recent one on or before today; in a question about the future, the next one on or after
  today. "last Tuesday" is strictly before today, "next Tuesday" strictly after;
* rolling windows ("in the past week", "over the past two weeks", "in the last 3 days")
  run from today minus the duration to today; "last week" without "the" is the previous
  ISO week. "recently"/"lately" is the past :data:`RECENTLY`; "in recent days/weeks/
  months/years" the past :data:`RECENT`. "N days/weeks/months/years ago" is the day,
  ISO week, month or year that contains that date, so "a week ago" is "last week";
* "early", "mid" and "late" (and "the start/middle/end of") pick the first, middle or
  last third of a month, year or decade;
* "since X" and "after X" start at X and stay open; "before X" ends the day before X;
  "until/till/by X" end with X; two expressions joined by "to", "and", "or", "through",
  "until" or a dash ("from Monday to Wednesday") give one range covering both;
* a year inside a name ("the 2022 World Cup", "the 2020 election", "Euro 2020") still
  narrows, loosely: the year plus :data:`NAME_SLACK` either side, since coverage of a
  named event starts before it (bids, campaigns) and runs after it (verdicts, aftermath),
  and Euro 2020 was played in 2021. Such a year is used only when the question has no
  other time expression, and a name year after today's ("Vision 2030") is ignored: it is
  a plan, not a time the news happened. A year is a time only where it reads as one:
  after a preposition ("in 2022", "since 2020", "of 2019"), as "2022's", or in a name
  as above; "2,000", "more than 2000 people" and "attended, 2000?" are counts.

False friends are rejected by context, not by a dictionary of the English language: a
bare month name counts only after a time preposition or modifier ("in May", "since
March", "last June", "early April"), so the modal "May I…", "Theresa May" and "thousands
march" do not; a weekday, "today" or a month followed by a capitalised word ("Sunday
Times", "March Madness") is a name, and so are the titles listed in ``_NAMED_DAYS``
("USA Today", "Mail on Sunday", "Black Friday", "Super Tuesday"…); "the January 6
committee" (a day without a year between "the" and a noun) names an event.

``present`` is true when the time expression covers today ("today", "this week", "so far
this year", "in the past week", "recently", "since January"), or the question says "now",
"currently", "latest", "still", "so far"… about a range that reaches today, or when it has
no time expression and its first verb is present tense ("Who is the prime minister?",
"What do we know about the strike?"); a question about the future is not about the present.

Library: python-dateutil's ``relativedelta`` does the calendar arithmetic (month ends,
"the most recent Tuesday", month and year steps); it is already installed and pinned for
haystack-ai. Finding the expressions is a table of regular expressions here, because the
parsers evaluated return single points, not ranges ("last week" -> the day seven days
ago), take "May I", "thousands march in" and "the Sunday Times" for dates, and miss "in
the past week", "since" and decades: dateparser 1.5.0 (``search_dates``) also costs 1-4 ms
a question (over the 2 ms budget), 0.17 s to import and 30 ms on its first call;
ctparse and timefhuman pin python-dateutil below 3 (the project has 4.0.0) and read
"on Monday" as next Monday; parsedatetime is unmaintained since 2020. The rules here cost
about 0.3 ms a question (compiled once, about 0.1 s at import) and need no network or
locale data.

Not handled (no range is returned for them): seasons ("last summer"; "the summer of 2022"
reads as 2022), quarters ("Q1 2023"), holidays ("Christmas", "Independence Day"), numeric
dates other than ISO ("13/01/2023"), times of day beyond "this morning"/"tonight"/"last
night", "the week before last", "the week of January 9" (read as January 9), "the end of
last year" (read as all of last year), "on the 5th" (a day without a month), ordinal counts
("the third week of May"), words for decades ("the nineties"), and "today" meaning
"nowadays" ("than it is today" still reads as as_of's date).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from math import ceil
from typing import NamedTuple

from dateutil.relativedelta import FR, MO, SA, SU, TH, TU, WE, relativedelta

from ..domain import TimeFrame

__all__ = ["NAME_SLACK", "RECENT", "RECENTLY", "TimeFrame", "parse_as_of", "timeframe"]

RECENTLY = relativedelta(days=30)  # "recently", "lately", "of late"
RECENT = {  # "in recent days", "in recent weeks"…
    "hour": relativedelta(days=1),
    "day": relativedelta(days=7),
    "week": relativedelta(weeks=4),
    "month": relativedelta(months=6),
    "year": relativedelta(years=5),
    "decade": relativedelta(years=30),
}
NAME_SLACK = relativedelta(years=1)  # either side of a year that is part of a name

_ONE_DAY = timedelta(days=1)


def parse_as_of(value: str) -> datetime:
    """An ISO 8601 date or date-time ("2023-01-13", "2023-01-13T10:00:00Z", with or without
    an offset) as an aware UTC datetime; a date alone is its midnight, a naive time is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"as_of must be an ISO 8601 date or date-time such as 2023-01-13 or "
            f"2023-01-13T10:00:00Z, not {value!r}") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class _Context:
    """What every rule needs: today's UTC date and whether the question is about the future."""

    today: date
    future: bool


class _Reading(NamedTuple):
    start: date | None
    end: date | None
    present: bool = False
    name: bool = False  # a year inside a name: used only when nothing else is found


@dataclass(frozen=True)
class _Found:
    begin: int
    end: int
    first: date | None
    last: date | None
    present: bool
    name: bool


# --- vocabulary -------------------------------------------------------------------------

_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_MONTHS.update({"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
                "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12})
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = (MO, TU, WE, TH, FR, SA, SU)
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
            "a couple of": 2, "couple of": 2, "a few": 3, "few": 3}

_MONTH_ALTERNATIVES = "|".join(_MONTH_NAMES)
_MONTH = rf"(?P<month>{_MONTH_ALTERNATIVES})\b"
_MONTH_OR_ABBREVIATION = rf"(?P<month>{_MONTH_ALTERNATIVES}|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)(?:\.|\b)"
_WEEKDAY = "(?P<weekday>" + "|".join(_WEEKDAY_NAMES) + ")\\b"
_DAY = r"(?<![\d,.])(?P<day>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?(?![\d%]|[:.,]\d)"
_YEAR = r"(?<![\w$£€#.,:/-])(?P<year>(?:19|20)\d\d)(?![\d%]|[:.,]\d|s\b)"
_ISO_DATE = r"(?<!\d)(?P<year>(?:19|20)\d\d)[-/](?P<month_number>1[0-2]|0?[1-9])[-/](?P<day>3[01]|[12]\d|0?[1-9])\b"
_NUMBER = (r"(?P<number>\d{1,3}|(?:a\s+)?couple\s+of|(?:a\s+)?few|an?|one|two|three|four|five|six|seven|eight|"
           r"nine|ten|eleven|twelve)")
_UNIT = r"(?P<unit>hours?|days?|weeks?|fortnights?|months?|years?|decades?)\b"
_PART_WORDS = r"early|mid|late|the\s+(?:start|beginning|middle|end)\s+of"
_PART = rf"(?:(?P<part>{_PART_WORDS})[\s-]*)?"
# Prepositions that may govern a time expression; _bound applies since/after/before/until/by.
_PREPOSITIONS = "in|on|during|since|from|between|before|after|until|till|through|throughout|by"
_PREPOSITION = rf"(?:\b(?P<prep>{_PREPOSITIONS}|of)\s+)?"
_RELATIVE_PREPOSITION = rf"(?:\b(?P<prep>{_PREPOSITIONS}|over|within|for)\s+)?"
# Not "on", "by", "of": "on May's speech", "a speech by May", "the government of May".
_BARE_MONTH_PREPOSITION = r"(?P<prep>in|during|since|from|between|before|after|until|till|through|throughout)"

_NAMED_DAYS = re.compile(
    r"\b(?:sunday\s+(?:times|telegraph|mirror|express|post|people|herald|mail|world|sport|independent)"
    r"|mail\s+on\s+sunday|usa\s+today|today\s+(?:show|programme|program)|super\s+bowl\s+sunday"
    r"|(?:black|cyber|good|super|bloody|easter|palm|ash|maundy|holy|giving|boxing|blue)\s+"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(?:monday|thursday|friday|saturday|sunday)\s+night\s+(?:football|live|lights))\b", re.I)
_QUANTIFIERS = frozenset(("than", "over", "about", "around", "nearly", "almost", "some", "roughly",
                          "approximately", "least", "most", "only", "exactly", "under", "below",
                          "above", "estimated", "another", "further", "additional", "total", "just"))
_COUNTED = re.compile(
    r"\s*(?:people|persons|men|women|children|kids|troops|soldiers|police|votes|deaths|dead|cases|"
    r"residents|jobs|homes|houses|members|refugees|migrants|dollars|euros|pounds|yen|km|kilometres|"
    r"kilometers|miles|metres|meters|feet|tonnes|tons|barrels|units|times|points|words|pages|more|"
    r"fewer|per|percent|[a-z]+(?:ers|ors|ists|ians|ees))\b")

_FUTURE = re.compile(r"\b(?:will|won't|shall|gonna|upcoming|going\s+to|later\s+(?:this|today|tonight))\b|['’]ll\b"
                     r"|\b(?:is|are)\s+(?:planned|scheduled|expected|due|set)\b", re.I)
_PRESENT_CUES = re.compile(r"\b(?:now|nowadays|currently|current|presently|at\s+(?:the\s+moment|present)|these\s+days|"
                           r"latest|recent|ongoing|still|so\s+far|to\s+date|yet)\b", re.I)
_TENSE = re.compile(
    r"\b(?P<present>is|are|am|isn't|aren't|does|doesn't|do|don't|has|hasn't|have|haven't|can|can't|"
    r"(?:who|what|where|when|why|how|there|it|that|he|she)['’]s)\b"
    r"|\b(?P<past>was|were|wasn't|weren't|did|didn't|had|hadn't|said|won|lost|went|came|made|took|gave|"
    r"told|began|met|ran|left|found|became|saw|got|held|led|paid|sent|spent|stood|struck|fought|fell|"
    r"broke|chose|drew|drove|flew|grew|knew|rose|sold|spoke|stole|threw|thought|brought|bought|caught|"
    r"wrote|sank|wore|laid|meant|kept|felt|heard|built|sought|sat)\b"
    r"|\b(?P<regular>(?!united\b|hundred\b)[a-z]+[a-df-z]ed)\b", re.I)


# --- calendar ---------------------------------------------------------------------------

def _month_range(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    return first, first + relativedelta(day=31)


def _year_range(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _week_range(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _unit_range(unit: str, day: date) -> tuple[date, date]:
    """The calendar day, ISO week, month or year that contains ``day``."""
    if unit in ("week", "fortnight"):
        return _week_range(day)
    if unit == "month":
        return _month_range(day.year, day.month)
    if unit == "year":
        return _year_range(day.year)
    if unit == "decade":
        return date(day.year // 10 * 10, 1, 1), date(day.year // 10 * 10 + 9, 12, 31)
    return day, day


def _step(unit: str, count: int) -> relativedelta:
    """``count`` units as a calendar step (hours round up to whole days: ranges are of dates)."""
    if unit in ("hour", "day"):
        return relativedelta(days=ceil(count / 24) if unit == "hour" else count)
    if unit in ("week", "fortnight"):
        return relativedelta(weeks=count * (2 if unit == "fortnight" else 1))
    if unit == "month":
        return relativedelta(months=count)
    return relativedelta(years=count * (10 if unit == "decade" else 1))


def _third(part: str | None, start: date, end: date) -> tuple[date, date]:
    """The first, middle or last third of a period for "early", "mid" and "late"."""
    if not part:
        return start, end
    days = (end - start).days + 1
    if part.startswith("early") or "start" in part or "beginning" in part:
        return start, start + timedelta(days=days // 3 - 1)
    if "mid" in part:
        return start + timedelta(days=days // 3), start + timedelta(days=2 * days // 3 - 1)
    return start + timedelta(days=2 * days // 3), end


def _nearest_month(ctx: _Context, month: int, relative: str | None) -> tuple[date, date]:
    """The month looked back to (or forward to, about the future); "last"/"next" skip this one."""
    year, current = ctx.today.year, ctx.today.month
    if relative in ("last", "past"):
        year -= month >= current
    elif relative in ("next", "coming"):
        year += month <= current
    elif ctx.future:
        year += month < current
    else:
        year -= month > current
    return _month_range(year, month)


def _nearest_day(ctx: _Context, month: int, day: int) -> date | None:
    """The date ``month``/``day`` looked back to (or forward to); None if there is no such day."""
    step = 1 if ctx.future else -1
    for offset in range(9):  # February 29 recurs within 8 years
        try:
            found = date(ctx.today.year + step * offset, month, day)
        except ValueError:
            continue
        if (found >= ctx.today) if ctx.future else (found <= ctx.today):
            return found
    return None


def _nearest_weekday(ctx: _Context, index: int, relative: str | None) -> date:
    """"last Tuesday" is strictly before today, "next Tuesday" strictly after; "this Tuesday" and
    "on Tuesday" may be today, looking back (or forward, about the future)."""
    wanted = _WEEKDAYS[index]
    if relative in ("last", "past"):
        return ctx.today - _ONE_DAY + relativedelta(weekday=wanted(-1))
    if relative in ("next", "coming"):
        return ctx.today + _ONE_DAY + relativedelta(weekday=wanted(+1))
    return ctx.today + relativedelta(weekday=wanted(+1 if ctx.future else -1))


def _weekend(ctx: _Context, relative: str | None) -> tuple[date, date]:
    """This ISO week's Saturday and Sunday; "last" is the week before's, "next" the first to come.
    Before Saturday, "this weekend" in a question about the past is the one just gone."""
    saturday = _week_range(ctx.today)[0] + timedelta(days=5)
    weekend_now = ctx.today >= saturday
    if relative in ("last", "past", "previous", "this past") or (
            relative in (None, "this", "current") and not weekend_now and not ctx.future):
        saturday -= timedelta(weeks=1)
    elif relative in ("next", "coming") and weekend_now:
        saturday += timedelta(weeks=1)
    return saturday, saturday + _ONE_DAY


# --- rules: one regular expression and one reader each ----------------------------------

def _is_name(question: str, end: int) -> bool:
    """A day or month followed by a capitalised word is part of a name ("Sunday Times")."""
    following = re.match(r"['’]?s?\s+([A-Z])[a-z]", question[end:])
    return following is not None and question != question.upper()


def _count(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else _NUMBERS[text]


def _read_iso_date(m: re.Match[str], ctx: _Context) -> _Reading | None:
    try:
        day = date(int(m["year"]), int(m["month_number"]), int(m["day"]))
    except ValueError:
        return None
    return _Reading(day, day, day == ctx.today)


def _read_full_date(m: re.Match[str], ctx: _Context) -> _Reading | None:
    month, day = _MONTHS[m["month"].lower()], int(m["day"])
    if m["year"]:
        try:
            found: date | None = date(int(m["year"]), month, day)
        except ValueError:
            return None
    else:
        before = m.string[:m.start()].rstrip().lower()
        if before.endswith("the") and re.match(r"\s+[a-z]", m.string[m.end():], re.I):
            return None  # "the January 6 committee": an event's name, no year to narrow to
        found = _nearest_day(ctx, month, day)
    return None if found is None else _Reading(found, found, found == ctx.today)


def _read_month_year(m: re.Match[str], ctx: _Context) -> _Reading:
    return _Reading(*_third(m["part"], *_month_range(int(m["year"]), _MONTHS[m["month"].lower()])))


def _read_month(m: re.Match[str], ctx: _Context) -> _Reading | None:
    if _is_name(m.string, m.end()):
        return None
    relative = (m["relative"] or "").lower() or None
    first = _MONTHS[m["month"].lower()]
    last = _MONTHS[m["month2"].lower()] if m["month2"] else first
    if m["month2"] and not m["prep"] and m["connector"].lower() == "and":
        return None  # "May and June" without "in": "may" is too often the verb
    if m["year"]:  # "January to March 2022": both in 2022
        start, end = _month_range(int(m["year"]), first)[0], _month_range(int(m["year"]), last)[1]
    elif ctx.future:  # the first month comes next, the last follows it
        start = _nearest_month(ctx, first, relative)[0]
        end = _month_range(start.year + (last < first), last)[1]
    else:  # the last month is the one looked back to, the first precedes it
        end = _nearest_month(ctx, last, relative)[1]
        start = _month_range(end.year - (first > last), first)[0]
    return _Reading(*_third(m["part"] or m["part2"], start, end))


def _read_year(m: re.Match[str], ctx: _Context) -> _Reading | None:
    text = m.string
    if _COUNTED.match(text[m.end():]):
        return None  # "2000 people", "by 2020 votes"
    words_before = re.findall(r"[\w']+", text[:m.start()])
    first, last = int(m["year"]), int(m["year"])
    if m["year2"]:
        last = int(m["year2"]) if len(m["year2"]) == 4 else first // 100 * 100 + int(m["year2"])
        if not first < last <= first + 100:
            return None
    start, end = _year_range(first)[0], _year_range(last)[1]
    if m["prep"] or m["part"] or re.match(r"['’]s\b", text[m.end():]):
        return _Reading(*_third(m["part"], start, end))
    if words_before and words_before[-1].lower() in _QUANTIFIERS:
        return None
    previous = words_before[-1] if words_before else ""
    capitalised_before = previous[:1].isupper() and text[:m.start()].rstrip()[-1:].isalpha()  # "Euro 2020"
    after_article = previous.lower() in ("the", "a", "an") and re.match(r"\s+[a-z]", text[m.end():], re.I) is not None
    if first > ctx.today.year or not (capitalised_before or after_article or _is_name(text, m.end())):
        return None  # a number, or a name of a plan ("Vision 2030")
    return _Reading(start - NAME_SLACK, end + NAME_SLACK, name=True)


def _read_decade(m: re.Match[str], ctx: _Context) -> _Reading:
    if m["century"]:
        first = int(m["century"] + m["decade"] + "0")
    else:  # "the '90s": the latest such decade that has begun
        first = ctx.today.year // 100 * 100 + int(m["decade2"]) * 10
        if first > ctx.today.year:
            first -= 100
    return _Reading(*_third(m["part"], date(first, 1, 1), date(first + 9, 12, 31)))


def _read_day_word(m: re.Match[str], ctx: _Context) -> _Reading | None:
    word = " ".join(m["word"].lower().split())
    if word in ("today", "tonight") and _is_name(m.string, m.end()):
        return None
    offset = {"yesterday": -1, "last night": -1, "tomorrow": 1,
              "the day before yesterday": -2, "the day after tomorrow": 2}.get(word, 0)
    day = ctx.today + timedelta(days=offset)
    return _Reading(day, day, offset == 0)


def _read_weekday(m: re.Match[str], ctx: _Context) -> _Reading | None:
    if _is_name(m.string, m.end()):
        return None
    day = _nearest_weekday(ctx, _WEEKDAY_NAMES.index(m["weekday"].lower()), (m["relative"] or "").lower() or None)
    return _Reading(day, day, day == ctx.today)


def _read_period(m: re.Match[str], ctx: _Context) -> _Reading:
    """this/last/next week, month, year or weekend; "the past week" is a rolling window."""
    relative, unit = " ".join(m["relative"].lower().split()), m["unit"].lower()
    if unit == "weekend":
        return _Reading(*_weekend(ctx, relative), present=relative in ("this", "current"))
    if relative in ("past", "this past") or (m["the"] and relative in ("last", "previous")):
        return _Reading(ctx.today - _step(unit, 1), ctx.today, True)
    shift = {"last": -1, "previous": -1, "next": 1, "coming": 1}.get(relative, 0)
    start, end = _unit_range(unit, ctx.today + _step(unit, shift))
    if m["direction"] and m["direction"].lower() == "later":
        return _Reading(ctx.today, end)
    return _Reading(start, end, shift == 0)


def _read_rolling(m: re.Match[str], ctx: _Context) -> _Reading:
    """"the past two weeks", "the last 3 days", "the next two weeks", "in recent weeks"."""
    unit = m["unit"].lower().rstrip("s")
    if m["relative"].lower() == "recent":
        return _Reading(ctx.today - RECENT[unit], ctx.today, True)
    window = _step(unit, _count(m["number"]))
    if m["relative"].lower() in ("next", "coming"):
        return _Reading(ctx.today, ctx.today + window)
    return _Reading(ctx.today - window, ctx.today, True)


def _read_ago(m: re.Match[str], ctx: _Context) -> _Reading:
    unit = m["unit"].lower().rstrip("s")
    return _Reading(*_unit_range(unit, ctx.today - _step(unit, _count(m["number"]))))


def _read_recently(m: re.Match[str], ctx: _Context) -> _Reading:
    return _Reading(ctx.today - RECENTLY, ctx.today, True)


def _read_the_weekend(m: re.Match[str], ctx: _Context) -> _Reading:
    return _Reading(*_weekend(ctx, None), present=True)


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str], _Context], _Reading | None]]
_RULES: tuple[_Rule, ...] = tuple((re.compile(pattern, re.I), read) for pattern, read in (
    (_PREPOSITION + _ISO_DATE, _read_iso_date),
    (_PREPOSITION + r"\b" + _MONTH_OR_ABBREVIATION + r"\s*" + _DAY + r"(?:,?\s*" + _YEAR + r")?", _read_full_date),
    (_PREPOSITION + r"(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH_OR_ABBREVIATION + r"(?:,?\s*" + _YEAR + r")?",
     _read_full_date),
    (_PREPOSITION + _PART + r"\b" + _MONTH_OR_ABBREVIATION + r"(?:,?\s*|\s+of\s+)" + _YEAR, _read_month_year),
    (rf"\b(?:{_BARE_MONTH_PREPOSITION}\s+(?:(?P<part>{_PART_WORDS})[\s-]*)?|(?P<relative>last|this|next|past|coming)\s+"
     rf"|(?P<part2>{_PART_WORDS})[\s-]*){_MONTH}"
     rf"(?:\s*(?P<connector>to|and|until|till|through|[-–])\s*(?P<month2>{_MONTH_ALTERNATIVES})\b)?"
     rf"(?:(?:,?\s*|\s+of\s+){_YEAR})?", _read_month),
    (_PREPOSITION + _PART + _YEAR
     + r"(?:\s*(?:to|and|until|till|through|[-–—/])\s*(?P<year2>(?:19|20)\d\d|\d\d)(?![\d%]|[:.,]\d))?", _read_year),
    (_PREPOSITION + r"(?:the\s+)?" + _PART
     + r"(?<![\w'’])(?:(?P<century>19|20)(?P<decade>\d)0|['’](?P<decade2>\d)0)['’]?s\b", _read_decade),
    (_RELATIVE_PREPOSITION + r"\b(?P<word>the\s+day\s+before\s+yesterday|the\s+day\s+after\s+tomorrow|today|tonight|"
     r"yesterday|tomorrow|last\s+night|this\s+(?:morning|afternoon|evening))\b", _read_day_word),
    (_RELATIVE_PREPOSITION + r"\b(?:(?P<relative>last|this|next|past|coming)\s+)?" + _WEEKDAY, _read_weekday),
    (_RELATIVE_PREPOSITION + r"(?:(?P<direction>earlier|later)\s+)?(?P<the>the\s+)?"
     r"\b(?P<relative>this\s+past|this|current|last|previous|next|coming|past)\s+(?P<unit>week|month|year|decade|weekend)\b",
     _read_period),
    (_RELATIVE_PREPOSITION + r"(?:the\s+)?\b(?P<relative>past|last|previous|next|coming)\s+" + _NUMBER + r"\s+" + _UNIT,
     _read_rolling),
    (_RELATIVE_PREPOSITION + r"\b(?P<relative>recent)\s+(?P<unit>hours|days|weeks|months|years|decades)\b",
     _read_rolling),
    (_RELATIVE_PREPOSITION + r"\b" + _NUMBER + r"\s+" + _UNIT + r"\s+ago\b", _read_ago),
    (r"\b(?:recently|lately|of\s+late)\b", _read_recently),
    (r"\b(?:over|at|on|during)\s+the\s+weekend\b", _read_the_weekend),
))

_CONNECTOR = re.compile(r"\s*,?\s*(?:and|or|to|through|thru|until|till|[-–—])\s*", re.I)
# Kept in the expression because they change the range (the others, "in", "on"…, do not).
_MEANINGFUL_PREPOSITIONS = frozenset(("since", "after", "before", "until", "till", "by", "between"))


def _bound(prep: str, start: date | None, end: date | None) -> tuple[date | None, date | None]:
    """What "since", "after", "before" and "until" do to a range."""
    if prep == "since":
        return start, None
    if prep == "after":
        return (end + _ONE_DAY if end else None), None
    if prep == "before":
        return None, (start - _ONE_DAY if start else None)
    if prep in ("until", "till", "by"):
        return None, end
    return start, end


def _candidates(question: str, ctx: _Context) -> list[_Found]:
    named = [m.span() for m in _NAMED_DAYS.finditer(question)]
    found = []
    for pattern, read in _RULES:
        for m in pattern.finditer(question):
            if any(b < m.end() and m.start() < e for b, e in named):
                continue
            try:
                reading = read(m, ctx)
            except (ValueError, OverflowError):  # off the calendar: "the past 999 decades"
                continue
            if reading is None:
                continue
            start, end = reading.start, reading.end
            if not ctx.future and start is not None and end is not None and start <= ctx.today < end:
                end = ctx.today  # nothing after today has been reported yet
            prep = (m.groupdict().get("prep") or "").lower()
            start, end = _bound(prep, start, end)
            present = reading.present or (prep in ("since", "after") and start is not None and start <= ctx.today)
            begin = m.start()
            if prep and prep not in _MEANINGFUL_PREPOSITIONS:  # "in 2022" is said by "2022"
                begin = m.end() - len(m[0][len(prep):].lstrip())
            found.append(_Found(begin, m.end(), start, end, present, reading.name))
    return found


def _pick(found: list[_Found], question: str) -> _Found | None:
    """The leftmost longest expression (joined with the next by "to", "and"… into one range); a
    year inside a name only when there is nothing else."""
    kept: list[_Found] = []
    for item in sorted(found, key=lambda f: (f.begin, f.begin - f.end)):
        if kept and item.begin < kept[-1].end:
            continue
        previous = kept[-1] if kept else None
        if previous and previous.name == item.name and _CONNECTOR.fullmatch(question[previous.end:item.begin]):
            kept[-1] = _Found(
                previous.begin, item.end,
                None if previous.first is None or item.first is None else min(previous.first, item.first),
                None if previous.last is None or item.last is None else max(previous.last, item.last),
                previous.present or item.present, item.name)
        else:
            kept.append(item)
    return next((f for f in kept if not f.name), kept[0] if kept else None)


def _present_tense(question: str) -> bool:
    """Whether the first verb-like word of the question is present tense ("Who is…", "What do…")."""
    for m in _TENSE.finditer(question):
        if m["regular"] and not m["regular"].islower():
            continue  # a name ("Ahmed") rather than a past tense
        return m["present"] is not None
    return False


def timeframe(question: str, as_of: datetime) -> TimeFrame:
    """The dates ``question`` is about when asked at ``as_of`` (see the module doc for the rules)."""
    moment = as_of if as_of.tzinfo is None else as_of.astimezone(timezone.utc)
    ctx = _Context(moment.date(), bool(_FUTURE.search(question)))
    cue = bool(_PRESENT_CUES.search(question)) and not ctx.future
    found = _pick(_candidates(question, ctx), question)
    if found is None:
        return TimeFrame(None, None, None, None, present=cue or (not ctx.future and _present_tense(question)))
    reaches_today = (found.first or ctx.today) <= ctx.today <= (found.last or ctx.today)
    return TimeFrame(found.first, found.last, question[found.begin:found.end], (found.begin, found.end),
                     present=found.present or (cue and reaches_today))
