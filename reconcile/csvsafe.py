"""Data never becomes a formula: the escaping of text cells in the CSV files we write for people.

Participants and respondents control completion codes and free text. A cell such as
`=HYPERLINK("http://example.org/x","click")` or `@SUM(1+1)*cmd|' /C calc'!A0`, written verbatim
into a CSV that a PI opens in Excel or LibreOffice, is run as a formula (CSV injection). Cells
starting with = + - @ tab or carriage return are therefore written with a leading apostrophe,
which spreadsheets show as text.

The escaping is lossless: `unescape` removes exactly the one apostrophe `escape` added. A value
that itself starts with apostrophes followed by such a character gets one more apostrophe, so
`'=x` (typed by someone) is written `''=x` and read back as `'=x`.

Applied to every cell of a file written for people (plan, responses file, dry-run exports), not
to files a platform reads back byte for byte (a website's approve/reject upload keeps the bytes
of the platform's own file, because the platform needs them). Imports nothing (a base module).
"""

from __future__ import annotations

import re
from typing import Iterable

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile("^'*[=+\\-@\t\r]")  # what escape() prefixes
_UNESCAPE = re.compile("^'+[=+\\-@\t\r]")  # what unescape() strips one apostrophe from


def escape(value: str) -> str:
    """`value` as a spreadsheet shows it as text: a leading apostrophe where it could be a formula."""
    if value and (value[0] in TRIGGERS or value[0] == "'") and _ESCAPED.match(value):
        return "'" + value
    return value


def unescape(cell: str) -> str:
    """The value `escape` was given: one leading apostrophe removed where escape added one."""
    if cell and cell[0] == "'" and _UNESCAPE.match(cell):
        return cell[1:]
    return cell


_FIRST = frozenset("=+-@\t\r'")  # the first characters that can need an apostrophe


def escape_row(cells: Iterable[str]) -> list[str]:
    """escape() of every cell, inline: this runs on every cell of a 100k-row plan."""
    first, match = _FIRST, _ESCAPED.match
    return ["'" + c if c and c[0] in first and match(c) else c for c in cells]


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet would read `value`, written verbatim, as a formula."""
    return bool(value) and value[0] in TRIGGERS
