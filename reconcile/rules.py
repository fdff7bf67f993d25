"""The matching policy: safe defaults, optionally adjusted by a small TOML rules file.

The default never rejects anything: every doubtful case goes to `review` for a person. Rejecting is
opt-in, rule by rule, and every reject rule must carry the feedback text the worker will see.

Rules file (all sections optional; see sample_data/rules.example.toml):

    [review]
    repeat_workers = true          # a worker with several assignments or responses -> review
    near_misses = true             # suggest codes one typo away

    [flags]                        # informative only; they never change a decision
    short_duration_seconds = 60    # flag responses faster than this (default: a third of the median)
    recaptcha_below = 0.5          # flag Q_RecaptchaScore below this
    fraud_score_at_least = 30      # flag Q_RelevantIDFraudScore at or above this

    [reject.no_code]               # the assignment submitted no code at all
    feedback = "You did not submit a completion code."

    [reject.no_match]              # the code is in no response (and is no near miss / worker ID)
    feedback = "The code you submitted does not match any survey response."

    [reject.too_fast]              # the matched response took less than max_seconds
    max_seconds = 90
    feedback = "You completed the survey too quickly to have read the questions."

    [reject.attention_check]       # the matched response failed an attention-check question
    column = "AC1"
    expected = ["Blue"]            # accepted answers (text, compared after trimming, case-insensitive)
    feedback = "You did not pass the attention check."

A reject section is on when present (set `enabled = false` to keep it in the file but off).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .errors import InputError
from .upload import reason_problem

# Reason codes: stable snake_case identifiers (they end up in plan files people keep), with the
# sentence the README and the workbook show for each.
ASSIGNMENT_REASONS: dict[str, str] = {
    "code_match": "approve: the code matches a finished response exactly (after normalization)",
    "code_in_text": "approve: the worker pasted a sentence; exactly one code inside it matches a finished response",
    "already_approved": "skip: MTurk already shows the assignment as Approved",
    "already_rejected": "skip: MTurk already shows the assignment as Rejected",
    "no_code": "review: the assignment carries no code at all",
    "no_match": "review: the code matches no response (another study's code, or made up)",
    "near_miss": "review: the code is one typo (edit, swap, O/0, I/1) away from a response's code",
    "worker_id_as_code": "review: the worker pasted a WorkerId instead of the code",
    "excel_damaged_code": "review: the code was damaged by a spreadsheet (e.g. 2.95061E+08 or 12345.0)",
    "ambiguous_text": "review: the pasted text contains several codes that match responses",
    "code_on_several_responses": "review: the code belongs to several responses and the worker ID does not tell which",
    "shared_code": "review: several assignments submitted the same code",
    "worker_mismatch": "review: the matched response names a different worker",
    "unfinished_response": "review: the matched response is not finished",
    "excluded_response": "review: the matched response is a survey preview, test or spam",
    "repeat_worker": "review: the worker has several assignments (also across batches) or several finished responses",
    "conflicting_rows": "review: the batch files hold conflicting rows for this assignment",
    "reject_no_code": "reject (rule reject.no_code): no code submitted",
    "reject_no_match": "reject (rule reject.no_match): the code matches no response",
    "reject_too_fast": "reject (rule reject.too_fast): the matched response was too fast",
    "reject_attention_check": "reject (rule reject.attention_check): the matched response failed the attention check",
}

RESPONSE_REASONS: dict[str, str] = {
    "code_match": "matched: an assignment submitted this response's code",
    "no_assignment": "unmatched: no assignment submitted this code",
    "no_code": "unmatched: the response has no code",
    "in_review": "unmatched: an assignment that points to this response was sent to review",
    "survey_preview": "excluded: a survey preview",
    "survey_test": "excluded: a survey test",
    "spam": "excluded: flagged as spam by Qualtrics",
    "unfinished": "excluded: the response was not finished and no assignment claims it",
}

FLAGS: dict[str, str] = {
    "auto_approval_passed": "AutoApprovalTime has passed: MTurk approved the assignment automatically; it can no longer be rejected",
    "auto_approval_soon": "AutoApprovalTime is within 24 hours: decide now, or MTurk approves it automatically",
    "duplicate_ip": "another response came from the same IP address",
    "short_duration": "the response was much faster than usual",
    "recaptcha_low": "Qualtrics reCAPTCHA score is low (likely a bot)",
    "relevant_id_duplicate": "Qualtrics RelevantID says this respondent answered before",
    "relevant_id_fraud": "Qualtrics RelevantID fraud score is high",
    "duplicate_respondent": "Qualtrics marks this as a duplicate respondent",
    "code_in_text": "the code was pulled out of a longer text",
    "duplicate_row": "the assignment appears in more than one batch row (identical content, counted once)",
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


@dataclass(frozen=True)
class Rules:
    review_repeat_workers: bool = True
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

_REJECT_KEYS = {
    "no_code": {"enabled", "feedback"},
    "no_match": {"enabled", "feedback"},
    "too_fast": {"enabled", "feedback", "max_seconds"},
    "attention_check": {"enabled", "feedback", "column", "expected"},
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
    _unknown(path, "review", set(review), {"repeat_workers", "near_misses"})
    if "repeat_workers" in review:
        kwargs["review_repeat_workers"] = _bool(path, "review.repeat_workers", review["repeat_workers"])
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
                f"{path}: [{where}] needs a feedback text (what the rejected worker reads on MTurk)."
            )
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
        rules.append(rule)
    kwargs["reject"] = tuple(rules)
    return Rules(**kwargs)


def load_rules(path: str | Path | None) -> Rules:
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
