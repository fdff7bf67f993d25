"""The matching policy: safe defaults, optionally adjusted by a small TOML rules file.

The default never rejects anything: every doubtful case goes to `review` for a person. Rejecting is
opt-in, rule by rule, and every reject rule must carry the feedback text the participant will see.

Rules file (all sections optional; see sample_data/rules.example.toml):

    [review]
    repeat_participants = true     # a participant with several submissions or responses -> review
    near_misses = true             # suggest codes (and participant IDs) one typo away

    [flags]                        # informative only; they never change a decision
    short_duration_seconds = 60    # flag responses faster than this (default: a third of the median)
    recaptcha_below = 0.5          # flag Q_RecaptchaScore below this
    fraud_score_at_least = 30      # flag Q_RelevantIDFraudScore at or above this

    [reject.no_code]               # the submission carries no code at all
    feedback = "You did not submit a completion code."

    [reject.no_match]              # the code is in no response (and is no near miss / participant ID)
    feedback = "The code you submitted does not match any survey response."

    [reject.too_fast]              # the matched response took less than max_seconds
    max_seconds = 90
    feedback = "You completed the survey too quickly to have read the questions."

    [reject.attention_check]       # the matched response failed an attention-check question
    column = "AC1"
    expected = ["Blue"]            # accepted answers (text, compared after trimming, case-insensitive)
    feedback = "You did not pass the attention check."

A reject section is on when present (set `enabled = false` to keep it in the file but off).
`repeat_participants` is also read under its first name, the one rules files of code-join studies use.

Guards, because a wrong rule would reject real work: feedback must pass the check `pay` makes
(feedback.reason_problem) when the file is loaded; a column a rule names must exist in the export
(check_rule_columns, at `match`); and a rule that would reject more than half as many submissions
as matched needs confirmation (confirm_mass_rejections).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import InputError, RefusedError
from .feedback import reason_problem
from .platform import Words

# Reason codes: stable snake_case identifiers (they end up in plan files people keep), with the
# sentence the README and the workbook show for each. These are the matcher's neutral codes; a
# platform's plans may show a few under the names they always had (Platform.reason_code).
SUBMISSION_REASONS: dict[str, str] = {
    "code_match": "approve: the code matches a finished response exactly (after normalization)",
    "code_in_text": "approve: the participant pasted a sentence; exactly one code inside it matches a finished response",
    "participant_match": "approve: exactly one finished response carries the participant's ID (and the code is the study's when known)",
    "already_approved": "skip: the platform already shows the submission as approved",
    "already_rejected": "skip: the platform already shows the submission as rejected",
    "closed": "skip: the platform closed the submission with nothing to decide (a status other than those below)",
    "returned": "skip: the participant returned the submission (no reward, nothing to decide)",
    "timed_out": "skip: the submission timed out (no reward, nothing to decide)",
    "screened_out": "skip: the participant was screened out (paid the screen-out reward by the platform)",
    "partially_approved": "skip: the platform already shows the submission as partially approved",
    "no_code": "review: the submission carries no code at all",
    "no_match": "review: the code matches no response (another study's code, or made up)",
    "near_miss": "review: the code is one typo (edit, swap, O/0, I/1) away from a response's code",
    "participant_id_as_code": "review: the participant pasted a participant ID instead of the code",
    "excel_damaged_code": "review: the code was damaged by a spreadsheet (e.g. 2.95061E+08 or 12345.0)",
    "ambiguous_text": "review: the pasted text contains several codes that match responses",
    "code_on_several_responses": "review: the code belongs to several responses and the participant ID does not tell which",
    "shared_code": "review: several submissions submitted the same code",
    "participant_mismatch": "review: the response names a different participant (or its typed ID disagrees with the captured one)",
    "unfinished_response": "review: the matched response is not finished",
    "excluded_response": "review: the matched response is a survey preview, test or spam",
    "repeat_participant": "review: the participant has several submissions (also across files) or several finished responses",
    "no_response": "review: no response carries the participant's ID",
    "several_responses": "review: several finished responses carry the participant's ID",
    "code_not_of_study": "review: the code is not one of the study's completion codes",
    "unknown_status": "review: the platform shows a status reconcile does not know",
    "conflicting_rows": "review: the platform's files hold conflicting rows for this submission",
    "reject_no_code": "reject (rule reject.no_code): no code submitted",
    "reject_no_match": "reject (rule reject.no_match): the code matches no response",
    "reject_too_fast": "reject (rule reject.too_fast): the matched response was too fast",
    "reject_attention_check": "reject (rule reject.attention_check): the matched response failed the attention check",
}

RESPONSE_REASONS: dict[str, str] = {
    "code_match": "matched: a submission carries this response's code",
    "participant_match": "matched: a submission's participant ID is on this response",
    "no_submission": "unmatched: no submission carries this code (or this participant ID)",
    "no_code": "unmatched: the response has no code",
    "no_participant_id": "unmatched: the response carries no participant ID",
    "not_joined": "unmatched: the participant has several submissions or responses, and none was joined to this one",
    "in_review": "unmatched: a submission that points to this response was sent to review",
    "survey_preview": "excluded: a survey preview",
    "survey_test": "excluded: a survey test",
    "spam": "excluded: flagged as spam by Qualtrics",
    "unfinished": "excluded: the response was not finished and no submission claims it",
}

FLAGS: dict[str, str] = {
    "auto_approval_passed": "the review deadline has passed: the platform approved the submission automatically; it can no longer be rejected",
    "auto_approval_soon": "the review deadline is within 24 hours: decide now, or the platform approves it automatically",
    "duplicate_ip": "another response came from the same IP address",
    "short_duration": "the response was much faster than usual",
    "recaptcha_low": "Qualtrics reCAPTCHA score is low (likely a bot)",
    "relevant_id_duplicate": "Qualtrics RelevantID says this respondent answered before",
    "relevant_id_fraud": "Qualtrics RelevantID fraud score is high",
    "duplicate_respondent": "Qualtrics marks this as a duplicate respondent",
    "code_in_text": "the code was pulled out of a longer text",
    "no_code": "no completion code was entered (not sent to review: the study's codes were not given)",
    "participant_id_as_code": "the participant's own ID was entered as the code (not sent to review: the study's codes were not given)",
    "duplicate_row": "the submission appears in more than one row of the platform's files (identical content, counted once)",
    "bonus_capped": "the computed bonus was cut to --max-bonus",
    "bonus_blank": "the bonus column is empty for this response; no bonus",
}


@dataclass(frozen=True)
class RejectRule:
    name: str  # "no_code", "no_match", "too_fast", "attention_check"
    feedback: str
    max_seconds: Decimal | None = None
    column: str = ""
    expected: tuple[str, ...] = ()
    category: str = ""  # where the platform asks for one (Prolific's rejection_category, e.g. "NO_CODE")


@dataclass(frozen=True)
class Rules:
    review_repeat_participants: bool = True
    near_misses: bool = True
    short_duration_seconds: Decimal | None = None  # None: a third of the median finished duration
    recaptcha_below: Decimal = Decimal("0.5")
    fraud_score_at_least: Decimal = Decimal("30")
    reject: tuple[RejectRule, ...] = field(default_factory=tuple)
    source: str = "defaults"

    def reject_rule(self, name: str) -> RejectRule | None:
        for r in self.reject:
            if r.name == name:
                return r
        return None


DEFAULT_RULES = Rules()

# `repeat_participants` under the name rules files have used since the first (code-join) studies:
# kept, as those files are kept.
_REPEAT_FIRST_NAME = "repeat_workers"

_REJECT_KEYS = {
    "no_code": {"enabled", "feedback", "category"},
    "no_match": {"enabled", "feedback", "category"},
    "too_fast": {"enabled", "feedback", "max_seconds", "category"},
    "attention_check": {"enabled", "feedback", "column", "expected", "category"},
}


def _number(path: str, key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{path}: {key} must be a number, not {value!r}.")
    try:
        # TOML floats arrive as float; going through str() keeps the digits the user wrote.
        d = Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{path}: {key} must be a number, not {value!r}.") from None
    if d < 0:
        raise InputError(f"{path}: {key} must not be negative.")
    return d


def _bool(path: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{path}: {key} must be true or false, not {value!r}.")
    return value


def _unknown(path: str, section: str, keys: set[str], allowed: set[str]) -> None:
    extra = sorted(keys - allowed)
    if extra:
        raise InputError(
            f"{path}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(extra)} in [{section}] "
            f"(allowed: {', '.join(sorted(allowed))})."
        )


def parse_rules(text: str, path: str = "rules.toml") -> Rules:
    """Parse rules from TOML text. Raises InputError naming the file and the key at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML ({exc}).") from None
    _unknown(path, "top level", set(data), {"review", "flags", "reject"})
    kwargs: dict = {"source": path}

    review = data.get("review", {})
    if not isinstance(review, dict):
        raise InputError(f"{path}: [review] must be a table.")
    _unknown(path, "review", set(review), {"repeat_participants", _REPEAT_FIRST_NAME, "near_misses"})
    for key in ("repeat_participants", _REPEAT_FIRST_NAME):
        if key in review:
            kwargs["review_repeat_participants"] = _bool(path, f"review.{key}", review[key])
    if "near_misses" in review:
        kwargs["near_misses"] = _bool(path, "review.near_misses", review["near_misses"])

    flags = data.get("flags", {})
    if not isinstance(flags, dict):
        raise InputError(f"{path}: [flags] must be a table.")
    _unknown(path, "flags", set(flags), {"short_duration_seconds", "recaptcha_below", "fraud_score_at_least"})
    for key in ("short_duration_seconds", "recaptcha_below", "fraud_score_at_least"):
        if key in flags:
            kwargs[key] = _number(path, f"flags.{key}", flags[key])

    rejects = data.get("reject", {})
    if not isinstance(rejects, dict):
        raise InputError(f"{path}: [reject] must hold tables such as [reject.no_code].")
    _unknown(path, "reject", set(rejects), set(_REJECT_KEYS))
    rules: list[RejectRule] = []
    for name in sorted(rejects):
        sec = rejects[name]
        where = f"reject.{name}"
        if not isinstance(sec, dict):
            raise InputError(f"{path}: [{where}] must be a table.")
        _unknown(path, where, set(sec), _REJECT_KEYS[name])
        if not _bool(path, f"{where}.enabled", sec.get("enabled", True)):
            continue
        feedback = sec.get("feedback")
        if not isinstance(feedback, str) or not feedback.strip():
            raise InputError(
                f"{path}: [{where}] needs a feedback text (what the rejected participant reads)."
            )
        category = sec.get("category", "")
        if not isinstance(category, str):
            raise InputError(f"{path}: [{where}] category must be text, such as \"NO_CODE\" (Prolific's rejection categories).")
        category = category.strip().upper()
        rule = RejectRule(name=name, feedback=feedback.strip())
        if name == "too_fast":
            if "max_seconds" not in sec:
                raise InputError(f"{path}: [{where}] needs max_seconds.")
            rule = RejectRule(name, rule.feedback, max_seconds=_number(path, f"{where}.max_seconds", sec["max_seconds"]))
        elif name == "attention_check":
            column = sec.get("column")
            expected = sec.get("expected")
            if not isinstance(column, str) or not column:
                raise InputError(f"{path}: [{where}] needs column = \"<Qualtrics column>\".")
            if isinstance(expected, str):
                expected = [expected]
            if not isinstance(expected, list) or not expected or not all(isinstance(e, (str, int)) for e in expected):
                raise InputError(f"{path}: [{where}] needs expected = [\"<accepted answer>\", ...].")
            rule = RejectRule(name, rule.feedback, column=column, expected=tuple(str(e) for e in expected))
        # The very check `pay` applies to every reject: refused here, the rules file is fixed
        # before a plan full of rejects that pay would refuse is ever written.
        problem = reason_problem(rule.feedback)
        if problem:
            raise InputError(f"{path}: [{where}] {problem}, so `reconcile pay` would refuse these rejects.")
        rules.append(replace(rule, category=category))
    kwargs["reject"] = tuple(rules)
    return Rules(**kwargs)


def load_rules(path: str | os.PathLike | None) -> Rules:
    """Rules from a TOML file, or the defaults when path is None."""
    if path is None:
        return DEFAULT_RULES
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{p}: no such rules file.", hint="See sample_data/rules.example.toml.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the rules file ({exc}).") from None
    return parse_rules(text, str(p))


def check_rule_columns(rules: Rules, columns: Sequence[str], export_path: str) -> None:
    """Refuse a rule that names a column the export does not have.

    The matcher reads an absent column as an empty answer, so an attention check on a misspelt
    column would fail every participant: everyone rejected, and nothing anywhere would say why.
    """
    have = set(columns)
    for rule in rules.reject:
        named = [rule.column] if rule.column else []
        for column in named:
            if column in have:
                continue
            folded = {c.strip().casefold(): c for c in reversed(columns)}
            close = [folded[k] for k in difflib.get_close_matches(column.strip().casefold(), list(folded), n=3, cutoff=0.6)]
            raise InputError(
                f"{rules.source}: rule [reject.{rule.name}] names column {column!r}, which {export_path} does not have"
                + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else
                   "; use a column name from the export's first header row, spelt exactly.")
            )


# Rules that reject submissions whose response matched (the others reject unmatched ones).
_REJECTS_MATCHED = ("reject_too_fast", "reject_attention_check")


def mass_rejections(rows: Iterable, rules: Rules, words: Words | None = None) -> list[tuple[str, str]]:
    """(rule, how many) for each reject rule that would reject more than half as many submissions
    as matched; `how many` reads "12 of the 20 matched submissions" or similar, in `words`.

    "Matched" submissions are the ones whose response was found (their code, or their participant's
    ID, leads to a finished response of theirs) and that the platform still shows as open: the plan
    approves them, or rejects them by reject.too_fast or reject.attention_check (rules that only act
    on matched work). Submissions the platform already decided (skip) and those sent to review are
    not counted. A rule is suspect when it rejects more than half that number: a wrong column, a
    wrong export or a cut file makes a rule reject nearly everyone, and no real study rejects most of
    the work that really matched.
    """
    one, many = (words.submission, words.submissions) if words is not None else ("submission", "submissions")
    matched = 0
    per_rule: dict[str, int] = {}
    for row in rows:
        if row.decision == "approve" or row.reason in _REJECTS_MATCHED:
            matched += 1
        if row.decision == "reject" and row.reason.startswith("reject_"):
            per_rule[row.reason] = per_rule.get(row.reason, 0) + 1
    out = []
    for rule in rules.reject:
        n = per_rule.get(f"reject_{rule.name}", 0)
        if n == 0 or n * 2 <= matched:
            continue
        if f"reject_{rule.name}" in _REJECTS_MATCHED:
            how_many = f"{n} of the {matched} matched {many if matched != 1 else one}"
        else:
            how_many = f"{n} {many if n != 1 else one}, more than half as many as the {matched} matched ones"
        out.append((f"[reject.{rule.name}] in {rules.source}", how_many))
    return out


def confirm_mass_rejections(
    rows: Iterable, rules: Rules, *, confirmed: bool = False, ask: Callable[[str], bool] | None = None,
    words: Words | None = None,
) -> tuple[str, ...]:
    """Stop unless every rule that would reject most matched work is confirmed.

    `confirmed` (--confirm-rejections) confirms them all; otherwise `ask` (a yes/no question on a
    terminal) is asked once per rule; without either, RefusedError. Returns one plan warning per
    confirmed rule, so the PI sees it in the workbook.
    """
    warnings = []
    for rule, how_many in mass_rejections(rows, rules, words):
        if not confirmed:
            if ask is None:
                raise RefusedError(
                    f"rule {rule} would reject {how_many}; nothing was written. Check the rule and the input "
                    "files, or pass --confirm-rejections if so many rejections are intended."
                )
            if not ask(f"Rule {rule} would reject {how_many}; continue?"):
                raise RefusedError(f"rule {rule} would reject {how_many}; not confirmed, so nothing was written.")
        how = "with --confirm-rejections" if confirmed else "at the prompt"
        warnings.append(f"Rule {rule} rejects {how_many} (confirmed {how}).")
    return tuple(warnings)
