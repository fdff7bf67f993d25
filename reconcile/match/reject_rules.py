"""Stage 6: the opt-in reject rules (rules.Rules.reject). Off by default: then nothing is rejected."""

from __future__ import annotations

from .prepare import Study
from .working import decimal_or_none


def apply_reject_rules(st: Study) -> None:
    rules = st.rules
    rule_no_code = rules.reject_rule("no_code")
    rule_no_match = rules.reject_rule("no_match")
    rule_fast = rules.reject_rule("too_fast")
    rule_attention = rules.reject_rule("attention_check")
    if not (rule_no_code or rule_no_match or rule_fast or rule_attention):
        return
    for it in st.items:
        if it.decision == "review" and it.reason == "no_code" and rule_no_code:
            it.decision, it.reason, it.feedback, it.category = "reject", "reject_no_code", rule_no_code.feedback, rule_no_code.category
            it.detail = "No completion code was submitted (rule reject.no_code)."
        elif it.decision == "review" and it.reason == "no_match" and not it.suggested and rule_no_match:
            it.decision, it.reason, it.feedback, it.category = "reject", "reject_no_match", rule_no_match.feedback, rule_no_match.category
            it.detail = f"The code {it.a.code!r} matches no response (rule reject.no_match)."
        elif it.decision == "approve" and it.chosen is not None:
            r = it.chosen
            if rule_attention is not None:
                answer = r.resp.fields.get(rule_attention.column, "")
                accepted = {e.strip().casefold() for e in rule_attention.expected}
                if answer.strip().casefold() not in accepted:
                    it.decision, it.reason, it.feedback, it.category = "reject", "reject_attention_check", rule_attention.feedback, rule_attention.category
                    it.detail = (
                        f"{r.label} answered {answer.strip()!r} to {rule_attention.column}, expected "
                        f"{' or '.join(repr(e) for e in rule_attention.expected)} (rule reject.attention_check)."
                    )
                    continue
            if rule_fast is not None and rule_fast.max_seconds is not None:
                dur = decimal_or_none(r.resp.duration_seconds)
                if dur is not None and dur < rule_fast.max_seconds:
                    it.decision, it.reason, it.feedback, it.category = "reject", "reject_too_fast", rule_fast.feedback, rule_fast.category
                    it.detail = f"{r.label} took {dur} seconds, under {rule_fast.max_seconds} (rule reject.too_fast)."
