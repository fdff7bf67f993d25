"""A Prolific workspace pays in GBP or USD, and exports do not say which. Amounts go to Prolific as
bare numbers in the workspace's currency, so the plan the PI saw must be in that currency: `--currency`
sets it for match and pay, and --execute refuses before any change when Prolific's differs."""

from __future__ import annotations

from prolific_helpers import prolific_audit, prolific_stats, start_prolific_process, stop_prolific_process
from prolific_pay_support import TOKEN, assert_exactly_once, cli, emulator_args, plan_for, seed_study
from prolific_helpers import prolific_state


def test_a_usd_workspace_refuses_a_plan_shown_in_pounds_and_pays_one_shown_in_dollars(tmp_path):
    export = seed_study(tmp_path, 4)
    url, proc = start_prolific_process(*emulator_args(export), "--token", TOKEN, "--port", "0", "--currency", "USD")
    try:
        plan, rows = plan_for(tmp_path, 4)
        assert any(r.bonus for r in rows)
        shown = cli("pay", str(plan), cwd=tmp_path)
        assert shown.returncode == 0 and "£" in shown.stdout and "$" not in shown.stdout
        refused = cli("pay", str(plan), "--execute", "--yes", "--endpoint-url", url, cwd=tmp_path)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert "the Prolific workspace pays in USD, but this plan's amounts were shown in GBP" in refused.stderr
        assert "--currency USD" in refused.stderr and "nothing was paid" in refused.stderr
        assert prolific_audit(url) == [] and prolific_stats(url)["effective_mutations"] == 0

        dollars = cli("pay", str(plan), "--currency", "usd", cwd=tmp_path)
        assert dollars.returncode == 0 and "$" in dollars.stdout and "£" not in dollars.stdout
        paid = cli("pay", str(plan), "--execute", "--yes", "--currency", "USD", "--endpoint-url", url, "--rate", "200", cwd=tmp_path)
        assert paid.returncode == 0, paid.stderr
        assert "$" in paid.stdout and "£" not in paid.stdout
        assert_exactly_once(prolific_audit(url), prolific_state(url), rows)
    finally:
        stop_prolific_process(proc)


def test_currency_is_checked_and_is_prolifics_alone(tmp_path):
    plan, _ = plan_for(tmp_path, 2)
    bad = cli("pay", str(plan), "--currency", "EUR", cwd=tmp_path)
    assert bad.returncode == 2 and "a Prolific workspace pays in GBP or USD" in bad.stderr
    root = __import__("pathlib").Path(__file__).resolve().parents[1] / "sample_data"
    mturk = cli("match", "--qualtrics", str(root / "qualtrics_export.csv"), "--mturk", str(root / "mturk_batch_results.csv"),
                "--currency", "GBP", cwd=tmp_path)
    assert mturk.returncode == 2 and "MTurk pays in USD" in mturk.stderr
