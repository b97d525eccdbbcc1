"""Time frames of news questions: ranges relative to as_of, the present, and the false friends."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsdesk.service.query.timeframe import TimeFrame, parse_as_of, timeframe

FRI = "2023-01-13T10:00:00Z"  # a Friday: ISO week 2 of 2023 is Monday 9 to Sunday 15 January
SUN = "2023-01-15T10:00:00Z"
MON = "2023-01-16T10:00:00Z"
LEAP = "2024-03-01T10:00:00Z"
D = date

# (question, as_of, start, end, present)
CASES = [
    # days
    ("What happened today?", FRI, D(2023, 1, 13), D(2023, 1, 13), True),
    ("What happened yesterday in Ukraine?", FRI, D(2023, 1, 12), D(2023, 1, 12), False),
    ("What happened the day before yesterday?", FRI, D(2023, 1, 11), D(2023, 1, 11), False),
    ("What will happen tomorrow?", FRI, D(2023, 1, 14), D(2023, 1, 14), False),
    # periods: ISO weeks (Monday-Sunday), calendar months and years; the current one ends today
    ("What did the Fed say this week?", FRI, D(2023, 1, 9), D(2023, 1, 13), True),
    ("What did the Fed say this week?", SUN, D(2023, 1, 9), D(2023, 1, 15), True),
    ("What did the Fed say this week?", MON, D(2023, 1, 16), D(2023, 1, 16), True),
    ("What did the Fed say last week?", FRI, D(2023, 1, 2), D(2023, 1, 8), False),
    ("What did the Fed say last week?", SUN, D(2023, 1, 2), D(2023, 1, 8), False),
    ("What did the Fed say last week?", MON, D(2023, 1, 9), D(2023, 1, 15), False),
    ("What is planned for next week?", FRI, D(2023, 1, 16), D(2023, 1, 22), False),
    ("What will happen this week?", FRI, D(2023, 1, 9), D(2023, 1, 15), True),
    ("What happened this month?", FRI, D(2023, 1, 1), D(2023, 1, 13), True),
    ("What happened last month?", FRI, D(2022, 12, 1), D(2022, 12, 31), False),
    ("What happened last month?", LEAP, D(2024, 2, 1), D(2024, 2, 29), False),
    ("Who won so far this year?", FRI, D(2023, 1, 1), D(2023, 1, 13), True),
    ("What happened last year?", FRI, D(2022, 1, 1), D(2022, 12, 31), False),
    ("What did the minister announce earlier this month?", FRI, D(2023, 1, 1), D(2023, 1, 13), True),
    ("What is planned for later this week?", FRI, D(2023, 1, 13), D(2023, 1, 15), False),
    ("What happened over the weekend?", FRI, D(2023, 1, 7), D(2023, 1, 8), True),
    ("What happened this weekend?", SUN, D(2023, 1, 14), D(2023, 1, 15), True),
    ("What happened last weekend?", SUN, D(2023, 1, 7), D(2023, 1, 8), False),
    # weekdays: the most recent one on or before as_of ("this week" quizzes), "last" strictly before
    ("Which country did Biden visit on Monday?", FRI, D(2023, 1, 9), D(2023, 1, 9), False),
    ("Which country did Biden visit on Tuesday?", FRI, D(2023, 1, 10), D(2023, 1, 10), False),
    ("What did Biden say Wednesday?", FRI, D(2023, 1, 11), D(2023, 1, 11), False),
    ("Which country did Biden visit on Monday?", SUN, D(2023, 1, 9), D(2023, 1, 9), False),
    ("What happened on Friday?", FRI, D(2023, 1, 13), D(2023, 1, 13), True),
    ("What happened last Tuesday?", FRI, D(2023, 1, 10), D(2023, 1, 10), False),
    ("What happened last Friday?", FRI, D(2023, 1, 6), D(2023, 1, 6), False),
    ("What did he say this Friday?", FRI, D(2023, 1, 13), D(2023, 1, 13), True),
    ("What did he say this Friday?", MON, D(2023, 1, 13), D(2023, 1, 13), False),
    ("Who will speak on Friday?", MON, D(2023, 1, 20), D(2023, 1, 20), False),
    ("Who will speak next Monday?", MON, D(2023, 1, 23), D(2023, 1, 23), False),
    ("What happened between Monday and Wednesday?", FRI, D(2023, 1, 9), D(2023, 1, 11), False),
    # years, months, dates
    ("Who won the election in 2022?", FRI, D(2022, 1, 1), D(2022, 12, 31), False),
    ("What were 2019's biggest stories?", FRI, D(2019, 1, 1), D(2019, 12, 31), False),
    ("What happened in January?", FRI, D(2023, 1, 1), D(2023, 1, 13), False),
    ("What happened in February?", FRI, D(2022, 2, 1), D(2022, 2, 28), False),
    ("What happened last January?", FRI, D(2022, 1, 1), D(2022, 1, 31), False),
    ("Who won the election in January 2022?", FRI, D(2022, 1, 1), D(2022, 1, 31), False),
    ("Which storm hit Jacksonville in May of 2012?", FRI, D(2012, 5, 1), D(2012, 5, 31), False),
    ("How many companies were listed as of August 2009?", FRI, D(2009, 8, 1), D(2009, 8, 31), False),
    ("What has changed since January?", FRI, D(2023, 1, 1), None, True),
    ("How has inflation moved since 2020?", FRI, D(2020, 1, 1), None, True),
    ("What happened before 2020?", FRI, None, D(2019, 12, 31), False),
    ("What is expected by the end of 2023?", FRI, None, D(2023, 12, 31), False),
    ("What happened on January 5?", FRI, D(2023, 1, 5), D(2023, 1, 5), False),
    ("What happened on January 20?", FRI, D(2022, 1, 20), D(2022, 1, 20), False),
    ("What happened on February 29?", LEAP, D(2024, 2, 29), D(2024, 2, 29), False),
    ("What happened on February 29?", FRI, D(2020, 2, 29), D(2020, 2, 29), False),
    ("What caused the January 5, 2023 earthquake?", FRI, D(2023, 1, 5), D(2023, 1, 5), False),
    ("What happened on 5 January 2022?", FRI, D(2022, 1, 5), D(2022, 1, 5), False),
    ("What happened on the 5th of January?", FRI, D(2023, 1, 5), D(2023, 1, 5), False),
    ("What happened on 2022-06-30?", FRI, D(2022, 6, 30), D(2022, 6, 30), False),
    ("What happened from 2019 to 2021?", FRI, D(2019, 1, 1), D(2021, 12, 31), False),
    ("What happened between January and March?", FRI, D(2022, 1, 1), D(2022, 3, 31), False),
    ("What happened in early 2022?", FRI, D(2022, 1, 1), D(2022, 5, 1), False),
    ("What happened in mid-December?", FRI, D(2022, 12, 11), D(2022, 12, 20), False),
    ("What happened in the 1990s?", FRI, D(1990, 1, 1), D(1999, 12, 31), False),
    ("What did the 1990s bring?", FRI, D(1990, 1, 1), D(1999, 12, 31), False),
    ("What happened in the '90s?", FRI, D(1990, 1, 1), D(1999, 12, 31), False),
    # rolling windows end today
    ("What happened in the past week?", FRI, D(2023, 1, 6), D(2023, 1, 13), True),
    ("What happened over the past two weeks?", FRI, D(2022, 12, 30), D(2023, 1, 13), True),
    ("What happened in the last 3 days?", FRI, D(2023, 1, 10), D(2023, 1, 13), True),
    ("What happened in the last 24 hours?", FRI, D(2023, 1, 12), D(2023, 1, 13), True),
    ("What happened in the past few months?", FRI, D(2022, 10, 13), D(2023, 1, 13), True),
    ("Who has recently resigned?", FRI, D(2022, 12, 14), D(2023, 1, 13), True),
    ("What happened in recent weeks?", FRI, D(2022, 12, 16), D(2023, 1, 13), True),
    ("What happened two weeks ago?", FRI, D(2022, 12, 26), D(2023, 1, 1), False),
    ("What happened a week ago?", FRI, D(2023, 1, 2), D(2023, 1, 8), False),
    ("What happened a few days ago?", FRI, D(2023, 1, 10), D(2023, 1, 10), False),
    ("How has the climate changed over the past decade?", FRI, D(2013, 1, 13), D(2023, 1, 13), True),
    ("What happened last decade?", FRI, D(2010, 1, 1), D(2019, 12, 31), False),
    # a year inside a name narrows loosely (a year either side, never past as_of)
    ("Who won the 2022 World Cup?", FRI, D(2021, 1, 1), D(2023, 1, 13), False),
    ("Who won the 2018 World Cup?", FRI, D(2017, 1, 1), D(2019, 12, 31), False),
    ("What happened at Euro 2020?", FRI, D(2019, 1, 1), D(2021, 12, 31), False),
    ("What did Biden say last week about the 2020 election?", FRI, D(2023, 1, 2), D(2023, 1, 8), False),
    # no time expression: present tense is about the present
    ("Who is the prime minister?", FRI, None, None, True),
    ("What do we know about the strike?", FRI, None, None, True),
    ("What is the latest on the strike?", FRI, None, None, True),
    ("Who currently leads the party?", FRI, None, None, True),
    ("Why did the talks fail?", FRI, None, None, False),
    ("Who won the vote?", FRI, None, None, False),
    ("Will Biden run again?", FRI, None, None, False),
    ("Who will host the 2030 World Cup?", FRI, None, None, False),
    # false friends
    ("May I ask who the prime minister is?", FRI, None, None, True),
    ("Why did thousands march in Paris?", FRI, None, None, False),
    ("What did Theresa May say?", FRI, None, None, False),
    ("What did Theresa May say in March?", FRI, D(2022, 3, 1), D(2022, 3, 31), False),
    ("What did the Sunday Times report?", FRI, None, None, False),
    ("What did the sunday times report?", FRI, None, None, False),
    ("What did USA Today report?", FRI, None, None, False),
    ("What did the Mail on Sunday say on Sunday?", FRI, D(2023, 1, 8), D(2023, 1, 8), False),
    ("Who won on Super Tuesday?", FRI, None, None, False),
    ("What was sold on Black Friday?", FRI, None, None, False),
    ("How was Independence Day celebrated?", FRI, None, None, False),
    ("What did the January 6 committee find?", FRI, None, None, False),
    ("How many people attended, 2,000?", FRI, None, None, False),
    ("Did more than 2000 people attend?", FRI, None, None, False),
    ("Were 2000 troops sent?", FRI, None, None, False),
    ("Did the fund raise $2020 million?", FRI, None, None, False),
]


@pytest.mark.parametrize(("question", "as_of", "start", "end", "present"), CASES)
def test_timeframe(question: str, as_of: str, start: date | None, end: date | None, present: bool) -> None:
    found = timeframe(question, parse_as_of(as_of))
    assert (found.start, found.end, found.present) == (start, end, present), found
    if found.start is None and found.end is None:
        assert (found.expression, found.span) == (None, None)
    else:
        assert found.span is not None and question[found.span[0]:found.span[1]] == found.expression


@pytest.mark.parametrize(("question", "expression"), [
    ("What did the Fed say last week?", "last week"),
    ("Which country did Biden visit on Monday?", "Monday"),
    ("What has changed since January?", "since January"),
    ("What happened over the past two weeks?", "the past two weeks"),
    ("What happened in the 1990s?", "the 1990s"),
    ("Who won the 2022 World Cup?", "2022"),
    ("What happened between Monday and Wednesday?", "between Monday and Wednesday"),
    ("Qu'est-ce qui s'est passé — today — à Paris ? 日本 today", "today"),
])
def test_expression_and_span(question: str, expression: str) -> None:
    found = timeframe(question, parse_as_of(FRI))
    assert found.expression == expression
    assert found.span == (question.index(expression), question.index(expression) + len(expression))


def test_no_time_expression() -> None:
    assert timeframe("Who is the prime minister?", parse_as_of(FRI)) == TimeFrame(None, None, None, None, present=True)


def test_today_is_the_utc_date() -> None:
    assert timeframe("What happened today?", parse_as_of("2023-01-13T20:00:00-05:00")).start == D(2023, 1, 14)
    assert timeframe("What happened today?", parse_as_of("2023-01-13T01:00:00+05:00")).start == D(2023, 1, 12)
    new_york = timezone(timedelta(hours=-5))
    assert timeframe("What happened today?", datetime(2023, 1, 13, 20, tzinfo=new_york)).start == D(2023, 1, 14)
    assert timeframe("What happened today?", datetime(2023, 1, 13, 23, 0)).start == D(2023, 1, 13)  # naive = UTC


def test_weeks_run_monday_to_sunday() -> None:
    for day in range(9, 16):  # every day of ISO week 2 of 2023 has the same last week
        found = timeframe("What happened last week?", datetime(2023, 1, day, 12, tzinfo=timezone.utc))
        assert (found.start, found.end) == (D(2023, 1, 2), D(2023, 1, 8))
        assert found.start.isoweekday() == 1 and found.end.isoweekday() == 7


WORDS = ["in", "on", "since", "before", "until", "between", "and", "to", "the", "last", "this", "next", "past",
         "early", "mid-", "week", "month", "year", "decade", "weekend", "days", "ago", "May", "March", "Monday",
         "Sunday", "Times", "today", "yesterday", "1990s", "'90s", "2022", "2,000", "29", "31", "February", "999",
         "a few", "recently", "2020-21", "2023-02-30", "of", ",", "?", "Who", "is", "was", "will"]


@given(st.lists(st.sampled_from(WORDS), max_size=12), st.datetimes(timezones=st.just(timezone.utc)))
def test_any_question_reads_without_error(words: list[str], as_of: datetime) -> None:
    question = " ".join(words)
    found = timeframe(question, as_of)
    if found.span is not None:
        assert question[found.span[0]:found.span[1]] == found.expression
    if found.start is not None and found.end is not None:
        assert found.start <= found.end


@pytest.mark.parametrize(("value", "expected"), [
    ("2023-01-13", datetime(2023, 1, 13, tzinfo=timezone.utc)),
    ("2023-01-13T10:00:00Z", datetime(2023, 1, 13, 10, tzinfo=timezone.utc)),
    ("2023-01-13T10:00:00+05:00", datetime(2023, 1, 13, 5, tzinfo=timezone.utc)),
    ("2023-01-13T10:00:00", datetime(2023, 1, 13, 10, tzinfo=timezone.utc)),
])
def test_parse_as_of(value: str, expected: datetime) -> None:
    parsed = parse_as_of(value)
    assert parsed == expected and parsed.utcoffset() is not None and parsed.tzinfo == timezone.utc


@pytest.mark.parametrize("value", ["13/01/2023", "", "tomorrow", "2023-13-01", "2023-01-13T25:00:00Z"])
def test_parse_as_of_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_as_of(value)
