#!/usr/bin/env python3
"""Generate the synthetic Prolific study in sample_data/prolific/ (deterministic: same bytes on every run).

A Qualtrics export (three header rows with JSON ImportIds) that captures PROLIFIC_PID, STUDY_ID and
SESSION_ID from the study link and also asks "What is your Prolific ID?" (Q1, typed), and a
Prolific submissions export of the 2024 Title-case era named after the study, as Prolific names
downloads. Every case of the matching policy for Prolific (issue 10, item 3) appears at least once;
expected.json lists every submission and response with its case and the decision (or outcome)
`reconcile match --completion-code C7Q2M4PK --completion-code CFAIL9X2` should reach.

    python sample_data/make_prolific_sample.py [--out DIR]

Dates lie in March 2036 so that auto-approval dates (completion + 21 days) stay in the future.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20360309
STUDY = "6a1f00c0ffee5eed0b57d1e5"
CODES = ("C7Q2M4PK", "CFAIL9X2")  # the study's completion codes (the second: a failed attention check, still paid)
LAUNCH = datetime(2036, 3, 9, 14, 0, 0, tzinfo=timezone.utc)
DENVER = timezone(timedelta(hours=-7))  # Qualtrics writes local time (America/Denver in March 2036: MST)

# case -> (Prolific status, expected decision, expected reason, what it is)
CASES: dict[str, tuple[str, str, str, str]] = {
    "exact": ("AWAITING REVIEW", "approve", "participant_match", "one finished response captured the ID; the code is the study's"),
    "second_code": ("AWAITING REVIEW", "approve", "participant_match", "the entered code is the study's other completion code"),
    "typed_upper_case": ("AWAITING REVIEW", "approve", "participant_match", "the typed ID is in upper case (normalized)"),
    "typed_in_sentence": ("AWAITING REVIEW", "approve", "participant_match", "the typed ID sits inside a sentence"),
    "code_in_text": ("AWAITING REVIEW", "approve", "participant_match", "the code was pasted inside a sentence"),
    "no_response": ("AWAITING REVIEW", "review", "no_response", "no response carries the participant's ID"),
    "unfinished": ("AWAITING REVIEW", "review", "unfinished_response", "the participant's only response is not finished"),
    "several_responses": ("AWAITING REVIEW", "review", "several_responses", "two finished responses carry the ID"),
    "nocode": ("AWAITING REVIEW", "review", "no_code", "Prolific recorded NOCODE"),
    "empty_code": ("AWAITING REVIEW", "review", "no_code", "the completion code is empty"),
    "code_not_of_study": ("AWAITING REVIEW", "review", "code_not_of_study", "a code that is not one of the study's"),
    "own_id_as_code": ("AWAITING REVIEW", "review", "participant_id_as_code", "the participant pasted their own ID as the code"),
    "typed_id_disagrees": ("AWAITING REVIEW", "review", "participant_mismatch", "the typed ID names someone else than the captured one"),
    "still_active": ("ACTIVE", "review", "unknown_status", "still ACTIVE: nothing reconcile decides"),
    "approved": ("APPROVED", "skip", "already_approved", "already approved on Prolific"),
    "rejected": ("REJECTED", "skip", "already_rejected", "already rejected on Prolific"),
    "returned": ("RETURNED", "skip", "returned", "returned by the participant"),
    "timed_out": ("TIMED-OUT", "skip", "timed_out", "timed out"),
    "screened_out": ("SCREENED OUT", "skip", "screened_out", "screened out"),
    "partially_approved": ("PARTIALLY APPROVED", "skip", "partially_approved", "partially approved already"),
}
# How many submissions of each case (the rest: one each).
COUNTS = {"exact": 24, "approved": 3, "returned": 3}
# Responses with no submission: case -> (outcome, how many)
EXTRA_RESPONSES = {"survey_preview": ("excluded", 3), "no_prolific_id": ("unmatched", 2), "id_of_no_submission": ("unmatched", 1)}

Q_NAMES = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
           "ResponseId", "DistributionChannel", "UserLanguage", "Q1", "Q2", "score", "PROLIFIC_PID", "STUDY_ID", "SESSION_ID"]
Q_LABELS = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished",
            "Recorded Date", "Response ID", "Distribution Channel", "User Language", "What is your Prolific ID?",
            "Any comments about this study? (optional)", "score", "PROLIFIC_PID", "STUDY_ID", "SESSION_ID"]
_TZ = ',"timeZone":"America/Denver"'
Q_IMPORT_IDS = ['{"ImportId":"startDate"' + _TZ + "}", '{"ImportId":"endDate"' + _TZ + "}", '{"ImportId":"status"}',
                '{"ImportId":"ipAddress"}', '{"ImportId":"progress"}', '{"ImportId":"duration"}', '{"ImportId":"finished"}',
                '{"ImportId":"recordedDate"' + _TZ + "}", '{"ImportId":"_recordId"}', '{"ImportId":"distributionChannel"}',
                '{"ImportId":"userLanguage"}', '{"ImportId":"QID1_TEXT"}', '{"ImportId":"QID2_TEXT"}', '{"ImportId":"score"}',
                '{"ImportId":"PROLIFIC_PID"}', '{"ImportId":"STUDY_ID"}', '{"ImportId":"SESSION_ID"}']
P_NAMES = ["Submission id", "Participant id", "Status", "Custom study tncs accepted at", "Started at", "Completed at",
           "Reviewed at", "Archived at", "Time taken", "Completion code", "Total approvals", "Age", "Sex",
           "Ethnicity simplified", "Country of birth", "Country of residence", "Nationality", "Language", "Student status",
           "Employment status"]
FINISHED_STATUSES = ("AWAITING REVIEW", "APPROVED", "REJECTED", "PARTIALLY APPROVED")


def hex24(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(24))


def rid(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "R_" + "".join(rng.choice(alphabet) for _ in range(15))


def api_time(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_time(t: datetime) -> str:
    return t.astimezone(DENVER).strftime("%Y-%m-%d %H:%M:%S")


def build(rng: random.Random):
    submissions: list[dict] = []
    responses: list[dict] = []
    order = [case for case in CASES for _ in range(COUNTS.get(case, 1))]
    rng.shuffle(order)
    for n, case in enumerate(order):
        status, decision, reason, _ = CASES[case]
        pid, sid = hex24(rng), hex24(rng)
        start = LAUNCH + timedelta(minutes=7 * n, seconds=rng.randrange(60))
        taken = rng.randrange(300, 900)
        finished = status in FINISHED_STATUSES
        code = rng.choice(CODES[:1] * 5 + CODES[1:]) if case == "exact" else CODES[0]
        code = {
            "second_code": CODES[1], "code_in_text": f"my code is {CODES[0]} thanks", "nocode": "NOCODE", "empty_code": "",
            "code_not_of_study": "ZX81QL0T", "own_id_as_code": pid,
        }.get(case, code)
        if not finished:
            code = ""
        sub = {
            "Submission id": sid, "Participant id": pid, "Status": status, "Custom study tncs accepted at": "Not Applicable",
            "Started at": api_time(start), "Completed at": api_time(start + timedelta(seconds=taken)) if finished else "",
            "Reviewed at": api_time(start + timedelta(days=2)) if status in ("APPROVED", "REJECTED", "PARTIALLY APPROVED") else "",
            "Archived at": api_time(start + timedelta(seconds=taken + 2)) if finished else "",
            "Time taken": str(taken) if finished else "", "Completion code": code, "Total approvals": str(rng.randrange(5, 900)),
            "Age": str(rng.randrange(18, 70)), "Sex": rng.choice(["Female", "Male", "CONSENT_REVOKED"]),
            "Ethnicity simplified": rng.choice(["White", "Black", "Asian", "Mixed", "Other", "DATA_EXPIRED"]),
            "Country of birth": "United Kingdom", "Country of residence": "United Kingdom", "Nationality": "United Kingdom",
            "Language": "English", "Student status": rng.choice(["Yes", "No"]), "Employment status": "Full-Time",
            "_case": case, "_decision": decision, "_reason": reason,
        }
        submissions.append(sub)
        # The survey side of this submission.
        if case in ("no_response", "returned", "timed_out"):
            continue
        typed = {"typed_upper_case": pid.upper(), "typed_in_sentence": f"my prolific id is {pid}",
                 "typed_id_disagrees": hex24(rng)}.get(case, pid if rng.random() < 0.8 else "")
        n_resp = 2 if case == "several_responses" else 1
        for k in range(n_resp):
            # A response a review row points at stays unmatched (in review) until a person decides.
            responses.append(_response(rng, start + timedelta(seconds=20 + 90 * k), taken, pid, typed, sid,
                                       finished=case not in ("unfinished",), case=case,
                                       outcome="unmatched" if decision == "review" else "matched"))
    for case, (outcome, many) in EXTRA_RESPONSES.items():
        for k in range(many):
            t = LAUNCH - timedelta(days=3) + timedelta(hours=k) if case != "id_of_no_submission" else LAUNCH + timedelta(hours=6)
            pid = hex24(rng) if case == "id_of_no_submission" else ""
            responses.append(_response(rng, t, 240, pid, pid, "", finished=True, case=case, outcome=outcome,
                                       preview=case == "survey_preview"))
    responses.sort(key=lambda r: r["_start"])
    for i, r in enumerate(responses):  # one address each (documentation range): no duplicate-IP notes
        r["IPAddress"] = "" if r["Status"] == "Survey Preview" else f"192.0.2.{i + 1}"
    return submissions, responses


def _response(rng, start, taken, pid, typed, sid, *, finished, case, outcome, preview=False) -> dict:
    end = start + timedelta(seconds=taken if finished else taken // 3)
    return {
        "StartDate": local_time(start), "EndDate": local_time(end), "Status": "Survey Preview" if preview else "IP Address",
        "IPAddress": "", "Progress": "100" if finished else "38",
        "Duration (in seconds)": str(int((end - start).total_seconds())), "Finished": "True" if finished else "False",
        "RecordedDate": local_time(end), "ResponseId": rid(rng), "DistributionChannel": "preview" if preview else "anonymous",
        "UserLanguage": "EN", "Q1": typed, "Q2": rng.choice(["", "", "Nice study.", "Thanks,\nit was fine"]),
        "score": str(rng.randrange(0, 21)), "PROLIFIC_PID": pid, "STUDY_ID": STUDY if pid else "", "SESSION_ID": sid,
        "_case": case, "_outcome": outcome, "_start": start,
    }


def csv_text(rows) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def write(out_dir: Path) -> dict[str, str]:
    rng = random.Random(SEED)
    submissions, responses = build(rng)
    export_name = f"prolific_export_{STUDY}.csv"
    files = {
        "qualtrics_export.csv": csv_text([Q_NAMES, Q_LABELS, Q_IMPORT_IDS] + [[r[c] for c in Q_NAMES] for r in responses]),
        export_name: csv_text([P_NAMES] + [[s[c] for c in P_NAMES] for s in submissions]),
    }
    expected = {
        "study_id": STUDY,
        "completion_codes": list(CODES),
        "qualtrics": "qualtrics_export.csv",
        "prolific": export_name,
        "cases": {case: {"status": v[0], "decision": v[1], "reason": v[2], "what": v[3]} for case, v in CASES.items()},
        "submissions": [{"row": i + 2, "submission_id": s["Submission id"], "case": s["_case"], "decision": s["_decision"],
                         "reason": s["_reason"]} for i, s in enumerate(submissions)],
        "responses": [{"row": i + 4, "response_id": r["ResponseId"], "case": r["_case"], "outcome": r["_outcome"]}
                      for i, r in enumerate(responses)],
    }
    files["expected.json"] = json.dumps(expected, indent=1) + "\n"
    files["README.md"] = readme(expected)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_bytes(text.encode("utf-8"))
    return {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()}


def readme(expected: dict) -> str:
    decisions: dict[str, int] = {}
    for s in expected["submissions"]:
        decisions[s["decision"]] = decisions.get(s["decision"], 0) + 1
    lines = [
        "# A Prolific study (synthetic)",
        "",
        "Generated by `python sample_data/make_prolific_sample.py` (seeded; the tests check that it reproduces these",
        "files byte for byte). Edit the generator, not the files.",
        "",
        "- `qualtrics_export.csv`: three header rows (names, question texts, JSON ImportIds), `PROLIFIC_PID`,",
        "  `STUDY_ID` and `SESSION_ID` captured from the study link, and the typed question `Q1` (\"What is your",
        f"  Prolific ID?\"); {len(expected['responses'])} responses.",
        f"- `{expected['prolific']}`: a 2024 Title-case submissions export named after the study",
        f"  ({expected['study_id']}), CRLF; {len(expected['submissions'])} submissions.",
        "- `expected.json`: every submission and response with its case and the decision (or outcome) of",
        "",
        f"      reconcile match --qualtrics qualtrics_export.csv --prolific {expected['prolific']} \\",
        "          " + " ".join(f"--completion-code {c}" for c in expected["completion_codes"]),
        "",
        "Expected decisions: " + ", ".join(f"{k} {decisions.get(k, 0)}" for k in ("approve", "review", "skip")) + ".",
        "",
        "| case | Prolific status | decision | reason | what |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {case} | {c['status']} | {c['decision']} | {c['reason']} | {c['what']} |" for case, c in expected["cases"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "prolific")
    args = parser.parse_args()
    for name, digest in write(args.out).items():
        print(f"{digest[:12]}  {args.out / name}")


if __name__ == "__main__":
    main()
