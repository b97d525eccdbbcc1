"""One article in every hard script, for the offset tests of every surface (HTTP, CLI, widget).

Offsets are Unicode code points (Python ``str`` indices). Each kind of text below breaks a
different wrong unit: astral emoji, ZWJ families and regional-indicator flags are two UTF-16
units per code point (and a flag or family is several code points but one grapheme); CJK is
three UTF-8 bytes per code point; a decomposed "e\u0301" is two code points, one grapheme,
and one code point after NFC; Arabic and Hebrew between U+200F marks are right-to-left.
They come before the sentence that answers, inside it, and inside the furniture lines the
cleaner removes (greyed in the widget).
"""

from __future__ import annotations

RLM = "\u200f"  # RIGHT-TO-LEFT MARK
CAFE = "cafe\u0301"  # decomposed: "e" + COMBINING ACUTE ACCENT
FAMILY = "👨‍👩‍👧"  # man ZWJ woman ZWJ girl: five code points, eight UTF-16 units
FLAGS = "🇺🇦🇺🇸"  # four regional indicators
HEBREW = f"{RLM}שלום{RLM}"
ARABIC = f"{RLM}مرحبا بكم{RLM}"

ANSWER_SENTENCE = (f"The Zorvan bridge {FLAGS} {FAMILY} will reopen in March 2025, the mayor Olena Petrenko said "
                   f"in 漢字 and {HEBREW} at the {CAFE}.")
FURNITURE = ["Home › World › 漢字 › Україна",  # navigation crumbs
             f"Crowds {FLAGS} cheered on the old bridge. (Photo by AFP)",  # photo credit
             f"Tags: 漢字, {HEBREW}, {CAFE}, {FAMILY}"]  # call to action
ARTICLE = {
    "id": "zorvan-scripts",
    "title": f"Zorvan {FLAGS} 漢字 bridge",
    "publisher": "Dnipro Daily",
    "published_at": "2024-03-04",
    "text": (f"{FURNITURE[0]}\n\n"
             f"Families {FAMILY} waved flags {FLAGS} by the river in Zorvan on Sunday.\n\n"
             f"{FURNITURE[1]}\n\n"
             f"Signs in 漢字, in Arabic {ARABIC} and in Hebrew {HEBREW} greeted the {CAFE} crowd.\n\n"
             f"{FURNITURE[2]}\n\n"
             f"{ANSWER_SENTENCE}\n\n"
             "Engineers have repaired two of its five spans.\n"),
}
QUESTION = "When will the Zorvan bridge reopen?"
SHORT_ANSWER = "March 2025"


def utf16_index(text: str, index: int) -> int:
    """Where code point ``index`` of ``text`` is in UTF-16 units (a JavaScript, Java or C# string index)."""
    return len(text[:index].encode("utf-16-le")) // 2
