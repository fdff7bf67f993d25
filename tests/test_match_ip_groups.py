"""duplicate_ip as flags.flag_responses groups addresses (a list only for an address several
non-excluded responses share): an excluded response is flagged beside such a group but never makes one."""

from __future__ import annotations

from test_match import asg, resp, run


def test_shared_addresses_and_excluded_responses():
    responses = [
        resp(4, "10000001", ip="192.0.2.1"),
        resp(5, "10000002", ip=" 192.0.2.1 "),  # the same address, spaced
        resp(6, "10000003", ip="192.0.2.1", status="Spam"),  # excluded, beside a group of two
        resp(7, "10000004", ip="192.0.2.9"),
        resp(8, "10000005", ip="192.0.2.9", status="Survey Preview"),  # excluded: 192.0.2.9 has one response that counts
        resp(9, "10000006", ip=""),
        resp(10, "10000007", ip=""),
    ]
    submissions = [asg(2 + i, f"1000000{i + 1}", f"A{i:02d}WORKERXYZ12") for i in range(7)]
    _, outcomes, _ = run(responses, submissions)
    flagged = {rid for rid, o in outcomes.items() if "Same IP address" in o.detail}
    assert flagged == {"R_0004", "R_0005"}  # excluded outcomes carry no notes in their detail
    assert "Same IP address as R_0005." in outcomes["R_0004"].detail
    assert "Same IP address as R_0004." in outcomes["R_0005"].detail
