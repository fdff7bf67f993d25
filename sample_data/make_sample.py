#!/usr/bin/env python3
"""Generate the sample study in sample_data/ (deterministic: same bytes on every run).

A synthetic survey-link study: a Qualtrics export (modern three-row header with JSON ImportIds)
and one MTurk batch results file laid out like a real requester-website download. Every tricky
case from DESIGN.md appears at least once; cases.json lists every assignment and response with its
case and, for assignments, the decision the default matching policy should reach.

    python sample_data/make_sample.py [--out DIR]

Dates lie in March 2036 so that auto-approval deadlines stay in the future for years; the cases
about deadlines are stated relative to REFERENCE_NOW (pass it as "now" when testing them).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20360302
PST = timezone(timedelta(hours=-8), "PST")
LAUNCH = datetime(2036, 3, 2, 9, 0, 0, tzinfo=PST)
REFERENCE_NOW = datetime(2036, 3, 6, 8, 0, 0, tzinfo=PST)  # 2036-03-06 16:00:00 UTC
ATTENTION_OK = "Purple"

Q_NAMES = [
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished", "RecordedDate",
    "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail", "ExternalReference", "LocationLatitude",
    "LocationLongitude", "DistributionChannel", "UserLanguage", "worker_id", "Q1", "Q2", "score", "mTurkCode",
]
Q_LABELS = [
    "Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished",
    "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name", "Recipient Email",
    "External Data Reference", "Location Latitude", "Location Longitude", "Distribution Channel", "User Language",
    "Please type your Amazon Mechanical Turk Worker ID.",
    "What colour is the sky? To show you are reading carefully, select Purple.",
    "Any comments about this study? (optional)",
    "score", "mTurkCode",
]
_TZ = ',"timeZone":"America/Los_Angeles"'
Q_IMPORT_IDS = [
    '{"ImportId":"startDate"' + _TZ + "}", '{"ImportId":"endDate"' + _TZ + "}", '{"ImportId":"status"}',
    '{"ImportId":"ipAddress"}', '{"ImportId":"progress"}', '{"ImportId":"duration"}', '{"ImportId":"finished"}',
    '{"ImportId":"recordedDate"' + _TZ + "}", '{"ImportId":"_recordId"}', '{"ImportId":"recipientLastName"}',
    '{"ImportId":"recipientFirstName"}', '{"ImportId":"recipientEmail"}', '{"ImportId":"externalDataReference"}',
    '{"ImportId":"locationLatitude"}', '{"ImportId":"locationLongitude"}', '{"ImportId":"distributionChannel"}',
    '{"ImportId":"userLanguage"}', '{"ImportId":"QID2_TEXT"}', '{"ImportId":"QID3"}', '{"ImportId":"QID4_TEXT"}',
    '{"ImportId":"score"}', '{"ImportId":"mTurkCode"}',
]
M_NAMES = [
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
    "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
    "NumberOfSimilarHITs", "LifetimeInSeconds", "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime",
    "SubmitTime", "AutoApprovalTime", "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds",
    "LifetimeApprovalRate", "Last30DaysApprovalRate", "Last7DaysApprovalRate", "Answer.surveycode", "Approve", "Reject",
]

# case -> (decision the default policy should reach, sentence for the README)
CASES = {
    "exact": ("approve", "code matches a finished response exactly; typed worker ID agrees (or is blank)"),
    "attention_failed": ("approve", "exact match, but Q1 is not \"Purple\" (failed attention check): approve by default, reject only with a rule"),
    "worker_lowercase": ("approve", "exact match; the typed worker ID is in lower case"),
    "worker_spaces": ("approve", "exact match; the typed worker ID has spaces around it"),
    "worker_missing_a": ("approve", "exact match; the typed worker ID lacks its leading \"A\""),
    "code_in_sentence": ("approve", "the code sits inside a sentence the worker pasted"),
    "code_nbsp_zero_width": ("approve", "the code has a no-break space before it and a zero-width space after it"),
    "duplicate_ip": ("approve", "exact match; three finished responses share one IP address (flag only)"),
    "short_duration": ("approve", "exact match; the response took 38 seconds (flag only)"),
    "auto_approval_passed": ("approve", "exact match on the short-delay HIT; AutoApprovalTime is before REFERENCE_NOW (warn)"),
    "auto_approval_soon": ("approve", "exact match on the short-delay HIT; AutoApprovalTime is within 24 hours after REFERENCE_NOW (warn)"),
    "shared_code_owner": ("approve", "one code on two assignments: this one's worker is the worker ID typed in the response"),
    "shared_code_other": ("review", "one code on two assignments: this worker is not the one in the response"),
    "workerid_as_code": ("review", "the worker pasted their WorkerId as the code; a finished response carries that worker ID (suggest it)"),
    "typo_one_char": ("review", "near miss: one digit differs from a response's code"),
    "typo_transposition": ("review", "near miss: two adjacent digits swapped"),
    "o_for_zero": ("review", "near miss: letter O typed for the digit 0"),
    "i_for_one": ("review", "near miss: letter I typed for the digit 1"),
    "other_survey": ("review", "a code from another survey: in no response"),
    "no_code": ("review", "the code field is empty"),
    "unfinished": ("review", "the code belongs to a response with Finished False"),
    "spam_response": ("review", "the code belongs to a response Qualtrics marked Spam"),
    "worker_mismatch": ("review", "exact code match, but the response's typed worker ID names a different worker"),
    "excel_damaged_mturk": ("review", "the batch holds the code as 2.95061E+08 (Excel damage); never repaired"),
    "excel_damaged_qualtrics": ("review", "the response holds its code as 84719265.0 (pandas damage); the assignment's 84719265 must not be auto-approved"),
    "retake": ("review", "the worker has two finished responses (a retake); the assignment's code matches the second"),
    "already_approved": ("skip", "AssignmentStatus is Approved already"),
    "already_rejected": ("skip", "AssignmentStatus is Rejected already"),
}
RESPONSE_ONLY_CASES = {
    "unclaimed": "finished response with a code that no assignment carries (the worker never submitted the HIT)",
    "unfinished_no_code": "unfinished response without a code",
    "survey_preview": "Status \"Survey Preview\" (never paid)",
    "survey_test": "Status \"Survey Test\" (never paid)",
    "spam_unclaimed": "Status \"Spam\", claimed by no assignment",
    "retake_first": "the first of a worker's two finished responses (see retake)",
    "workerid_as_code_response": "the response of a worker who pasted their WorkerId as the code",
}

COMMENTS = [
    "", "", "", "", "Thanks!", "Fun study.", "The images loaded slowly.", "none", "Interesting, thank you.",
    "Took me a while to find the submit button.",
]
MULTILINE_COMMENTS = [
    "Two things:\n1. The second page was long.\n2. Otherwise fine.",
    "Great survey.\nPlease post more like this!",
    "I was not sure about question 3.\nI picked the closest answer.",
    "Line one\nLine two\n\nLine four after a blank line.",
]


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.used: set[str] = set()

    def token(self, n: int, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", first: str = "") -> str:
        while True:
            t = first + "".join(self.r.choice(alphabet) for _ in range(n - len(first)))
            if t not in self.used:
                self.used.add(t)
                return t

    def worker(self) -> str:
        return self.token(self.r.choice([13, 14]), first="A")

    def ip(self) -> str:
        # Unique, so the only shared address is the one the duplicate_ip case shares on purpose.
        while True:
            ip = f"{self.r.choice(['192.0.2', '198.51.100', '203.0.113'])}.{self.r.randrange(1, 255)}"
            if ip not in self.used and ip != "203.0.113.77":
                self.used.add(ip)
                return ip

    def response_id(self) -> str:
        return self.token(17, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", first="R_")

    def code(self, *, digits: int | None = None, must_contain: str = "") -> str:
        while True:
            n = digits or self.r.choice([7, 8, 8, 9, 9])
            c = str(self.r.randrange(10 ** (n - 1), 10**n))
            if must_contain and must_contain not in c[1:]:
                continue
            if c not in self.used:
                self.used.add(c)
                return c


def mturk_time(t: datetime) -> str:
    return t.astimezone(PST).strftime("%a %b %d %H:%M:%S PST %Y")


def qualtrics_time(t: datetime) -> str:
    return t.astimezone(PST).strftime("%Y-%m-%d %H:%M:%S")


def build():
    g = Gen(SEED)
    r = g.r
    responses: list[dict] = []
    assignments: list[dict] = []

    hit1 = {"HITId": g.token(30, first="3"), "HITTypeId": g.token(30, first="3"), "MaxAssignments": "130",
            "AutoApprovalDelayInSeconds": "2592000", "CreationTime": LAUNCH}
    hit2 = {"HITId": g.token(30, first="3"), "HITTypeId": hit1["HITTypeId"], "MaxAssignments": "3",
            "AutoApprovalDelayInSeconds": "259200", "CreationTime": LAUNCH + timedelta(hours=1)}

    def response(case, *, worker_typed="", code=None, status="IP Address", finished=True, duration=None,
                 ip=None, start=None, progress=None, q1=ATTENTION_OK, channel="anonymous"):
        start = start or LAUNCH + timedelta(minutes=r.randrange(5, 60 * 30))
        duration = duration if duration is not None else r.randrange(240, 900)
        progress = progress if progress is not None else (100 if finished else r.choice([8, 23, 41, 67]))
        if not finished:
            duration = int(duration * progress / 100) + 1
        comment = ""
        if finished:
            comment = r.choice(MULTILINE_COMMENTS) if r.random() < 0.07 else r.choice(COMMENTS)
        rec = {
            "case": case, "start": start, "end": start + timedelta(seconds=duration), "Status": status,
            "IPAddress": ip if ip is not None else ("" if status in ("Survey Preview", "Survey Test") else g.ip()),
            "Progress": str(progress), "Duration (in seconds)": str(duration), "Finished": "True" if finished else "False",
            "ResponseId": g.response_id(), "DistributionChannel": channel, "worker_id": worker_typed,
            "Q1": q1 if progress > 20 else "", "Q2": comment,
            "score": str(r.randrange(8, 21)) if finished else "",
            "mTurkCode": code if code is not None else (g.code() if finished or progress > 90 else ""),
        }
        lat, lon = r.choice([("38", "-97"), ("40", "-74"), ("34", "-118"), ("42", "-71"), ("47", "-122"), ("13", "80")])
        rec["LocationLatitude"], rec["LocationLongitude"] = ("", "") if status == "Survey Preview" else (lat, lon)
        responses.append(rec)
        return rec

    def assignment(case, worker, code, resp=None, *, hit=hit1, status="Submitted"):
        if resp is not None:
            accept = resp["start"] - timedelta(seconds=r.randrange(15, 90))
            submit = resp["end"] + timedelta(seconds=r.randrange(10, 120))
        else:
            accept = LAUNCH + timedelta(minutes=r.randrange(5, 60 * 30))
            submit = accept + timedelta(seconds=r.randrange(200, 900))
        auto = submit + timedelta(seconds=int(hit["AutoApprovalDelayInSeconds"]))
        rec = {
            "case": case, "hit": hit, "AssignmentId": g.token(30, first="3"), "WorkerId": worker,
            "AssignmentStatus": status, "AcceptTime": accept, "SubmitTime": submit, "AutoApprovalTime": auto,
            "ApprovalTime": "", "RejectionTime": "", "RequesterFeedback": "",
            "WorkTimeInSeconds": str(int((submit - accept).total_seconds())), "Answer.surveycode": code,
            "response": resp,
        }
        if status == "Approved":
            rec["ApprovalTime"] = mturk_time(submit + timedelta(hours=r.randrange(2, 20)))
        elif status == "Rejected":
            rec["RejectionTime"] = mturk_time(submit + timedelta(hours=r.randrange(2, 20)))
            rec["RequesterFeedback"] = "The completion code you entered does not match any survey response."
        assignments.append(rec)
        return rec

    def matched(case, *, typed=lambda w: w, **kw):
        w = g.worker()
        resp = response(case, worker_typed=typed(w), **kw)
        return assignment(case, w, resp["mTurkCode"], resp)

    # -- the ordinary majority: exact codes; a few leave the worker ID blank, two fail the attention check
    for i in range(95):
        matched("exact", typed=(lambda w: "") if i % 10 == 3 else (lambda w: w))
    for _ in range(2):
        matched("attention_failed", q1=r.choice(["Blue", "Grey"]))
    matched("worker_lowercase", typed=str.lower)
    matched("worker_spaces", typed=lambda w: f"  {w} ")
    matched("worker_missing_a", typed=lambda w: w[1:])

    w = g.worker()
    resp = response("code_in_sentence", worker_typed=w)
    assignment("code_in_sentence", w, f"Thank you! My completion code is {resp['mTurkCode']}.", resp)
    w = g.worker()
    resp = response("code_nbsp_zero_width", worker_typed=w)
    assignment("code_nbsp_zero_width", w, f"\u00a0{resp['mTurkCode']}\u200b", resp)

    shared_ip = "203.0.113.77"
    for _ in range(3):
        matched("duplicate_ip", ip=shared_ip)
    matched("short_duration", duration=38)

    # Short-delay HIT: AutoApprovalTime = submit + 3 days, placed around REFERENCE_NOW.
    for case, offset in (("auto_approval_passed", -timedelta(hours=5)), ("auto_approval_soon", timedelta(hours=3)),
                         ("auto_approval_soon", timedelta(hours=20))):
        submit = REFERENCE_NOW + offset - timedelta(days=3)
        w = g.worker()
        dur = r.randrange(300, 700)
        resp = response(case, worker_typed=w, start=submit - timedelta(seconds=dur + 40), duration=dur)
        a = assignment(case, w, resp["mTurkCode"], resp, hit=hit2)
        a["SubmitTime"] = submit
        a["AutoApprovalTime"] = submit + timedelta(days=3)
        a["WorkTimeInSeconds"] = str(int((submit - a["AcceptTime"]).total_seconds()))

    wa, wb = g.worker(), g.worker()
    resp = response("shared_code_owner", worker_typed=wa)
    assignment("shared_code_owner", wa, resp["mTurkCode"], resp)
    assignment("shared_code_other", wb, resp["mTurkCode"])

    for _ in range(2):
        w = g.worker()
        resp = response("workerid_as_code_response", worker_typed=w)
        assignment("workerid_as_code", w, w, resp)

    w = g.worker()
    resp = response("typo_one_char", worker_typed=w)
    c = resp["mTurkCode"]
    j = r.randrange(1, len(c))
    assignment("typo_one_char", w, c[:j] + str((int(c[j]) + r.randrange(1, 10)) % 10) + c[j + 1 :], resp)

    w = g.worker()
    while True:
        resp = response("typo_transposition", worker_typed=w)
        c = resp["mTurkCode"]
        pairs = [j for j in range(len(c) - 1) if c[j] != c[j + 1]]
        if pairs:
            break
        responses.pop()
    j = pairs[r.randrange(len(pairs))]
    assignment("typo_transposition", w, c[:j] + c[j + 1] + c[j] + c[j + 2 :], resp)

    w = g.worker()
    resp = response("o_for_zero", worker_typed=w, code=g.code(digits=8, must_contain="0"))
    c = resp["mTurkCode"]
    j = c.index("0", 1)
    assignment("o_for_zero", w, c[:j] + "O" + c[j + 1 :], resp)

    w = g.worker()
    resp = response("i_for_one", worker_typed=w, code=g.code(digits=9, must_contain="1"))
    c = resp["mTurkCode"]
    j = c.index("1", 1)
    assignment("i_for_one", w, c[:j] + "I" + c[j + 1 :], resp)

    for _ in range(2):
        assignment("other_survey", g.worker(), g.code(digits=8))
    assignment("no_code", g.worker(), "")

    w = g.worker()
    resp = response("unfinished", worker_typed=w, finished=False, progress=92)
    assignment("unfinished", w, resp["mTurkCode"], resp)

    w = g.worker()
    resp = response("spam_response", worker_typed=w, status="Spam")
    assignment("spam_response", w, resp["mTurkCode"], resp)

    w = g.worker()
    resp = response("worker_mismatch", worker_typed=g.worker())
    assignment("worker_mismatch", w, resp["mTurkCode"], resp)

    w = g.worker()
    resp = response("excel_damaged_mturk", worker_typed=w, code="295061234")
    g.used.add("295061234")
    assignment("excel_damaged_mturk", w, "2.95061E+08", resp)

    w = g.worker()
    resp = response("excel_damaged_qualtrics", worker_typed=w, code="84719265.0")
    g.used.add("84719265")
    assignment("excel_damaged_qualtrics", w, "84719265", resp)

    w = g.worker()
    first = response("retake_first", worker_typed=w, start=LAUNCH + timedelta(minutes=40))
    second = response("retake", worker_typed=w, start=first["end"] + timedelta(minutes=30))
    assignment("retake", w, second["mTurkCode"], second)

    for _ in range(3):
        w = g.worker()
        resp = response("already_approved", worker_typed=w)
        assignment("already_approved", w, resp["mTurkCode"], resp, status="Approved")
    w = g.worker()
    resp = response("already_rejected", worker_typed=w)
    assignment("already_rejected", w, resp["mTurkCode"], resp, status="Rejected")
    assignment("already_rejected", g.worker(), g.code(digits=7), status="Rejected")

    # -- responses no assignment claims
    for _ in range(6):
        response("unclaimed", worker_typed=g.worker())
    for _ in range(10):
        response("unfinished_no_code", worker_typed=r.choice(["", g.worker()]), finished=False)
    for k in range(2):
        response("survey_preview", status="Survey Preview", channel="preview",
                 start=LAUNCH - timedelta(days=1, hours=k), worker_typed="test" if k else "")
    for k in range(2):
        response("survey_test", status="Survey Test", channel="test", start=LAUNCH - timedelta(hours=3 + k),
                 worker_typed="ATESTWORKER0001")
    response("spam_unclaimed", status="Spam", worker_typed="")

    responses.sort(key=lambda x: (x["end"], x["ResponseId"]))
    r.shuffle(assignments)
    # Put each HIT's assignments together, as the website does, keeping the shuffled order within.
    assignments.sort(key=lambda a: a["hit"] is hit2)
    return responses, assignments


def qualtrics_rows(responses):
    rows = [Q_NAMES, Q_LABELS, Q_IMPORT_IDS]
    for x in responses:
        vals = dict(x)
        vals["StartDate"] = qualtrics_time(x["start"])
        vals["EndDate"] = qualtrics_time(x["end"])
        vals["RecordedDate"] = qualtrics_time(x["end"] + timedelta(seconds=1))
        vals["UserLanguage"] = "EN"
        rows.append([str(vals.get(n, "")) for n in Q_NAMES])
    return rows


def mturk_rows(assignments):
    rows = [M_NAMES]
    for a in assignments:
        hit = a["hit"]
        created = hit["CreationTime"]
        vals = {
            "HITId": hit["HITId"], "HITTypeId": hit["HITTypeId"],
            "Title": "Answer a 10-minute survey about images ($0.50)",
            "Description": "Complete a short survey on Qualtrics and paste the completion code shown at the end.",
            "Keywords": "survey, images, research", "Reward": "$0.50", "CreationTime": mturk_time(created),
            "MaxAssignments": hit["MaxAssignments"],
            "RequesterAnnotation": "BatchId:4812345;OriginalHitTemplateId:928390865;",
            "AssignmentDurationInSeconds": "3600", "AutoApprovalDelayInSeconds": hit["AutoApprovalDelayInSeconds"],
            "Expiration": mturk_time(created + timedelta(days=7)), "NumberOfSimilarHITs": "", "LifetimeInSeconds": "",
            "LifetimeApprovalRate": "0% (0/0)", "Last30DaysApprovalRate": "0% (0/0)", "Last7DaysApprovalRate": "0% (0/0)",
        }
        for k in ("AssignmentId", "WorkerId", "AssignmentStatus", "ApprovalTime", "RejectionTime", "RequesterFeedback",
                  "WorkTimeInSeconds", "Answer.surveycode"):
            vals[k] = a[k]
        for k in ("AcceptTime", "SubmitTime", "AutoApprovalTime"):
            vals[k] = mturk_time(a[k])
        # Like the real download: the empty Approve/Reject cells at the end are left out.
        rows.append([vals[n] for n in M_NAMES[:-2]])
    return rows


def encode_csv(rows, *, quote_all: bool, final_newline: bool) -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    text = buf.getvalue()
    if not final_newline:
        text = text[:-2]
    return text.encode("utf-8")


def cases_doc(responses, assignments):
    q_row = {x["ResponseId"]: i + 4 for i, x in enumerate(responses)}
    out_a = []
    for i, a in enumerate(assignments):
        decision, what = CASES[a["case"]]
        out_a.append({
            "row": i + 2, "assignment_id": a["AssignmentId"], "worker_id": a["WorkerId"], "code": a["Answer.surveycode"],
            "case": a["case"], "expected_decision": decision,
            "response_id": a["response"]["ResponseId"] if a["response"] else "",
            "response_row": q_row[a["response"]["ResponseId"]] if a["response"] else None,
        })
    out_r = [{"row": q_row[x["ResponseId"]], "response_id": x["ResponseId"], "case": x["case"]} for x in responses]
    return {
        "reference_now": REFERENCE_NOW.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "qualtrics": "qualtrics_export.csv",
        "mturk": "mturk_batch_results.csv",
        "case_descriptions": {**{k: v[1] for k, v in CASES.items()}, **RESPONSE_ONLY_CASES},
        "assignments": out_a,
        "responses": out_r,
    }


def readme(doc) -> str:
    from collections import Counter, defaultdict

    a_rows = defaultdict(list)
    for a in doc["assignments"]:
        a_rows[a["case"]].append(a)
    r_rows = defaultdict(list)
    for x in doc["responses"]:
        r_rows[x["case"]].append(x["row"])
    decisions = Counter(a["expected_decision"] for a in doc["assignments"])
    lines = [
        "# Sample study (synthetic)",
        "",
        "Generated by `python sample_data/make_sample.py` (seeded; the test suite checks that it reproduces these",
        "files byte for byte). Edit the generator, not the files.",
        "",
        "- `qualtrics_export.csv`: Qualtrics export, modern three header rows (names, question texts, JSON ImportIds),",
        f"  CRLF records with bare LF inside quoted free-text answers; {len(doc['responses'])} responses. Code column",
        "  `mTurkCode` (embedded data, 7-9 digits, no zero padding), typed worker ID `worker_id`, attention check `Q1`",
        "  (correct answer `Purple`), numeric `score` (0-20) for bonus formulas such as `--bonus \"score / 20\"`.",
        "- `mturk_batch_results.csv`: one MTurk batch (BatchId 4812345) laid out like a real download: the real column",
        f"  order, every cell quoted, `$0.50` Reward, rows two cells short (no Approve/Reject), no final newline; {len(doc['assignments'])}",
        "  assignments on two HITs of one HIT type (the second has a 3-day auto-approval delay). Code column `Answer.surveycode`.",
        "- `cases.json`: every assignment and response with its case, and for assignments the decision the default",
        "  policy (issue 3) should reach.",
        "",
        f"Dates are in March 2036 so auto-approval deadlines stay in the future. Deadline cases are relative to",
        f"REFERENCE_NOW = {doc['reference_now']}.",
        "",
        "Expected decisions with the default policy: " + ", ".join(f"{k} {decisions[k]}" for k in ("approve", "review", "skip", "reject") if decisions[k]) + ".",
        "",
        "## Assignments (rows of mturk_batch_results.csv; the header is row 1)",
        "",
        "| case | expected | batch rows | export rows | what |",
        "|---|---|---|---|---|",
    ]
    for case, (decision, what) in CASES.items():
        items = a_rows.get(case, [])
        if not items:
            continue
        rows = ", ".join(str(a["row"]) for a in items) if len(items) <= 6 else f"{len(items)} rows (see cases.json)"
        qrows = [str(a["response_row"]) for a in items if a["response_row"]]
        qtext = (", ".join(qrows) if len(qrows) <= 6 else f"{len(qrows)} rows") if qrows else "-"
        lines.append(f"| {case} | {decision} | {rows} | {qtext} | {what} |")
    lines += [
        "",
        "## Responses no assignment claims (rows of qualtrics_export.csv; data start at row 4)",
        "",
        "| case | export rows | what |",
        "|---|---|---|",
    ]
    for case, what in RESPONSE_ONLY_CASES.items():
        rows = r_rows.get(case, [])
        if rows:
            lines.append(f"| {case} | {', '.join(map(str, rows))} | {what} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="output directory (default: beside this script)")
    args = ap.parse_args()
    responses, assignments = build()
    doc = cases_doc(responses, assignments)
    outputs = {
        "qualtrics_export.csv": encode_csv(qualtrics_rows(responses), quote_all=False, final_newline=True),
        "mturk_batch_results.csv": encode_csv(mturk_rows(assignments), quote_all=True, final_newline=False),
        "cases.json": (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8"),
        "README.md": readme(doc).encode("utf-8"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (args.out / name).write_bytes(data)
    print(f"wrote {len(responses)} responses and {len(assignments)} assignments to {args.out}")


if __name__ == "__main__":
    main()
