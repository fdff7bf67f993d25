"""The dry run of a large plan says what it is checking before the long part (a million rows took
a minute in silence); a small plan's dry run prints only its summary. The threshold is lowered
here instead of writing a 2 MB plan."""

from __future__ import annotations

from reconcile import payment
from test_pay_dryrun import _study_days, matched, plan  # noqa: F401  (fixtures: the real Chucooleg plan)


def test_a_large_plan_says_what_is_checked(plan, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setattr(payment, "_LARGE_PLAN_BYTES", 1)
    checked, _ = payment.dry_run(plan, json_output=True)
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"checking {plan} against the MTurk files it names ..."
    assert len(checked.rows) > 100


def test_a_small_plan_prints_only_its_summary(plan, capsys):  # noqa: F811
    payment.dry_run(plan, json_output=True)
    assert "checking" not in capsys.readouterr().err
