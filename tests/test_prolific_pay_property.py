"""A property of the Prolific payout: whatever faults the service throws (server errors before
anything happens, answers dropped after the change was made, on any call or only on the bonus
calls), re-running the same payout never sends a pay call twice for one bulk bonus ID, never pays a
submission twice, never pays what the plan does not hold, and pays everything once nothing is left
in doubt or failed. Against the emulator in-process (the wire, the real client), many fault mixes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prolific_helpers import start_prolific_emulator
from prolific_pay_support import TOKEN, expected_payouts, pay_calls_per_bulk, payouts, plan_for, seed_study, study_id
from reconcile.errors import ReconcileError
from reconcile.payout.ledger import default_ledger_path
from reconcile.payout.run import execute_plan
from reconcile.payout.status import ledger_status
from reconcile.plan_check import check_plan
from reconcile.platforms.prolific import CAPABILITIES, PLATFORM
from reconcile.platforms.prolific.payer import ProlificPayer

STUDIES = 3


@settings(max_examples=14, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), fault=st.sampled_from([0.0, 0.1, 0.25]), drop=st.sampled_from([0.0, 0.1, 0.25, 0.5]),
       routes=st.sampled_from([(), ("bonus",), ("bulk-bonus-payments",), ("bulk-approve", "transition")]),
       runs=st.integers(1, 4))
def test_no_sequence_of_faults_sends_pay_twice_for_one_bulk_id(tmp_path_factory, seed, fault, drop, routes, runs):
    tmp = tmp_path_factory.mktemp("faults")
    exports = seed_study(tmp, 12, approved=1, studies=STUDIES)
    plan, rows = plan_for(tmp, 12, reject={5}, approved=1, studies=STUDIES)
    with start_prolific_emulator([str(e) for e in exports], study_ids=[study_id(j) for j in range(STUDIES)], token=TOKEN,
                                 seed=seed, fault_rate=fault, drop_response_rate=drop) as emu:
        if routes:
            emu.set_faults(routes=list(routes))
        for _ in range(runs):
            checked = check_plan(plan, PLATFORM).checked
            try:
                execute_plan(checked, platform=PLATFORM, payer=ProlificPayer(emu.url, CAPABILITIES, token=TOKEN),
                             endpoint_url=emu.url, rate=1000.0, concurrency=4)
            except ReconcileError:
                pass  # incomplete (failed or in doubt), or a pre-check that could not reach the service
            emu.settle()  # the lag passes: what was paid shows
        audit = emu.audit()
    assert all(n == 1 for n in pay_calls_per_bulk(audit).values()), pay_calls_per_bulk(audit)
    paid, want = payouts(audit), expected_payouts(rows)
    assert all(n == 1 for n in paid.values()) and set(paid) <= set(want), paid
    status = ledger_status(default_ledger_path(plan), plan)
    finished = status.get("plan_not_done") and not any(status["plan_not_done"].values())
    if finished and not status["in_doubt"] and not status["failed"]:
        assert paid == want  # nothing left to do: then every planned bonus was paid, once
