"""Which cells of a row anything after reading still looks up by column name (issue 14).

The importers keep every cell of every row (`Response.fields`, `Submission.fields`) because column
detection reads them all; after that, the matcher and the plan read only a few columns, and a
million rows of every other cell is gigabytes. `run_match` narrows the rows to these columns
(importers.csvtext.keep_only) once the files are read. A new lookup of `fields` must add its
column here: a column left out reads as absent.
"""

from __future__ import annotations

from ..bonus import BonusExpr
from ..rules import Rules
from .flags import FRAUD_COLUMNS

# Submission.fields is read only while the files are combined (repeated rows compared whole),
# which is over by the time the rows could be narrowed.
SUBMISSION_COLUMNS_READ: tuple[str, ...] = ()


def response_columns_read(rules: Rules, bonus: BonusExpr | None) -> tuple[str, ...]:
    """The survey columns the matcher (reject rules, fraud flags) and the plan (--bonus) look up."""
    named = [rule.column for rule in rules.reject if rule.column]
    named += FRAUD_COLUMNS  # looked up, and asked about (`in`): a survey without them has no fraud flags
    if bonus is not None:
        named += bonus.columns
    return tuple(dict.fromkeys(named))
