"""The rules file: defaults, opt-in reject rules with feedback, and one-sentence errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from reconcile.errors import InputError
from reconcile.rules import DEFAULT_RULES, FLAGS, RESPONSE_REASONS, SUBMISSION_REASONS, load_rules, parse_rules

EXAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "rules.example.toml"


def test_defaults_never_reject():
    assert DEFAULT_RULES.reject == ()
    assert DEFAULT_RULES.review_repeat_participants and DEFAULT_RULES.near_misses
    assert load_rules(None) is DEFAULT_RULES


def test_full_rules_file():
    rules = parse_rules(
        """
        [review]
        repeat_workers = false
        [flags]
        short_duration_seconds = 45
        recaptcha_below = 0.3
        [reject.too_fast]
        max_seconds = 90.5
        feedback = "  Far too fast.  "
        [reject.attention_check]
        column = "AC1"
        expected = "Blue"
        feedback = "Failed the attention check."
        [reject.no_match]
        enabled = false
        feedback = "x"
        """
    )
    assert rules.review_repeat_participants is False
    assert rules.short_duration_seconds == Decimal("45") and rules.recaptcha_below == Decimal("0.3")
    assert [r.name for r in rules.reject] == ["attention_check", "too_fast"]
    assert rules.reject_rule("too_fast").max_seconds == Decimal("90.5")
    assert rules.reject_rule("too_fast").feedback == "Far too fast."
    assert rules.reject_rule("attention_check").expected == ("Blue",)
    assert rules.reject_rule("no_match") is None


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[reject.no_code]\n", "needs a feedback text"),
        ('[reject.no_code]\nfeedback = ""\n', "needs a feedback text"),
        ('[reject.too_fast]\nfeedback = "x"\n', "needs max_seconds"),
        ('[reject.attention_check]\nfeedback = "x"\nexpected = ["a"]\n', "needs column"),
        ('[reject.attention_check]\nfeedback = "x"\ncolumn = "AC"\n', "needs expected"),
        ('[reject.everything]\nfeedback = "x"\n', "unknown key everything in [reject]"),
        ("[review]\nrepeat_worker = true\n", "unknown key repeat_worker in [review]"),
        ('[review]\nnear_misses = "yes"\n', "must be true or false"),
        ('[flags]\nrecaptcha_below = "low"\n', "must be a number"),
        ("[flags]\nshort_duration_seconds = -3\n", "must not be negative"),
        ("this is not toml", "not valid TOML"),
        ('[reject.no_code]\nfeedback = "' + "word " * 220 + '"\n', "1024"),
    ],
)
def test_rule_errors_name_file_and_key(text, fragment):
    with pytest.raises(InputError) as exc:
        parse_rules(text, "my-rules.toml")
    assert str(exc.value).startswith("my-rules.toml: ") and fragment in str(exc.value)


def test_missing_rules_file(tmp_path):
    with pytest.raises(InputError, match="no such rules file"):
        load_rules(tmp_path / "nope.toml")


def test_example_rules_file_parses_and_rejects_nothing_as_shipped():
    # Every reject rule is in the file but off (tests/test_rules_guard.py turns them on).
    rules = load_rules(EXAMPLE)
    assert rules.reject == ()
    assert "[reject.attention_check]" in EXAMPLE.read_text(encoding="utf-8")


def test_reason_and_flag_codes_are_snake_case_with_descriptions():
    for table in (SUBMISSION_REASONS, RESPONSE_REASONS, FLAGS):
        for code, text in table.items():
            assert code == code.lower() and " " not in code and "-" not in code
            assert len(text.split()) >= 3


@pytest.mark.parametrize("feedback, words", [("x", ["'x'", "too short"]), ("Too fast.", ["too short"]),
                                             ("Rejected", ["two words"]), ("word " * 210, ["1024"])])
def test_feedback_pay_would_refuse_is_refused_when_loaded(feedback, words):
    """The same check `pay` makes on every reject (upload.reason_problem), named by file and rule."""
    with pytest.raises(InputError) as exc:
        parse_rules(f'[reject.no_code]\nfeedback = "{feedback}"\n', "r.toml")
    msg = str(exc.value)
    assert msg.startswith("r.toml: [reject.no_code] ") and "reconcile pay" in msg
    assert all(w in msg for w in words), msg


def test_feedback_of_a_rule_left_off_is_not_checked():
    assert parse_rules('[reject.no_code]\nenabled = false\nfeedback = "x"\n').reject == ()
