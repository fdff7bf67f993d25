"""A synthetic study of N assignments x N responses in the real export formats, written as a stream.

The layouts are those of sample_data (imported from sample_data/make_sample.py, so they cannot
drift apart): a modern Qualtrics CSV with three header rows (names, question texts, JSON ImportIds),
CRLF records, bare LF inside quoted free-text answers; and an MTurk batch results CSV with the
requester website's column order, every cell quoted, CRLF, each row two cells short (no
Approve/Reject), no final newline.

Why a generator of its own (not make_sample.py at scale): make_sample builds every row as a dict and
draws every character from a random generator, minutes for a million rows. Here every identifier is
a bijection of the row number (a multiplicative permutation), so values are unique without a set of
used ones, both files can be written in different orders from the same per-participant facts, and
nothing but one byte per participant is held: a few seconds per million rows, the same code for
every size.

Participant p (0 <= p < N) owns response row p (responses are in time order, as Qualtrics writes
them) and the assignment at a permuted position of the batch (the website groups rows by HIT in no
particular order). Its `kind` (one byte) says which of the usual messes it shows; see KINDS.
"""

from __future__ import annotations

import importlib.util
import math
import random
from pathlib import Path

_SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "make_sample.py"


def _sample_layout():
    spec = importlib.util.spec_from_file_location("_make_sample_layout", _SAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_layout = _sample_layout()
Q_NAMES, Q_LABELS, Q_IMPORT_IDS, M_NAMES = _layout.Q_NAMES, _layout.Q_LABELS, _layout.Q_IMPORT_IDS, _layout.M_NAMES
COMMENTS, MULTILINE_COMMENTS = _layout.COMMENTS, _layout.MULTILINE_COMMENTS

QUALTRICS_FILE = "qualtrics_export.csv"
MTURK_FILE = "mturk_batch_results.csv"
BONUS = "score / 20"  # the bonus expression the bench passes to `reconcile match`
# The clock the bench runs commands at (RECONCILE_NOW): every AutoApprovalTime is weeks after it.
NOW = "2036-03-06T16:00:00Z"

# kind -> (weight per 10,000 participants, what it is). EXACT takes what the others leave.
KINDS = {
    "exact": (0, "code matches exactly; typed worker ID agrees"),
    "blank_worker": (300, "exact code; the worker ID question left blank"),
    "worker_lower": (100, "exact code; typed worker ID in lower case"),
    "worker_spaces": (50, "exact code; typed worker ID with spaces around it"),
    "worker_no_a": (50, "exact code; typed worker ID without its leading A"),
    "typo": (100, "one digit of the code changed (near miss)"),
    "transposed": (30, "two adjacent digits swapped (near miss)"),
    "o_for_zero": (20, "letter O typed for a 0 (near miss)"),
    "workerid_as_code": (50, "the worker pasted their WorkerId as the code"),
    "code_in_sentence": (50, "the code inside a pasted sentence"),
    "nbsp_code": (30, "the code between a no-break space and a zero-width space"),
    "shared_code": (30, "the assignment carries the next participant's code (two claim one response)"),
    "unfinished": (20, "the claimed response is unfinished"),
    "spam": (10, "the claimed response is marked Spam"),
    "worker_mismatch": (20, "the response names another worker"),
    "excel_mturk": (5, "the batch holds the code in scientific notation"),
    "excel_qualtrics": (5, "the response holds its code with a trailing .0"),
    "retake_first": (30, "response: first of two finished responses by the next participant's worker; assignment: another study's code"),
    "approved": (100, "AssignmentStatus Approved already"),
    "rejected": (20, "AssignmentStatus Rejected already"),
    "dup_ip": (50, "same IP address as the previous response"),
    "short": (50, "the response took under a minute"),
    "unclaimed_other": (100, "response: finished, no assignment claims it; assignment: another study's code"),
    "nocode_pair": (150, "response: unfinished without a code; assignment: no code"),
    "preview_other": (30, "response: Survey Preview; assignment: another study's code"),
    "spam_other": (10, "response: Spam, unclaimed; assignment: another study's code"),
}
KIND_NAMES = tuple(KINDS)
K = {name: i for i, name in enumerate(KIND_NAMES)}

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_T36 = [a + b + c for a in _B36 for b in _B36 for c in _B36]  # 46,656 three-character strings
_T62 = [a + b for a in _B62 for b in _B62]  # 3,844 two-character strings
_N36, _N62 = len(_T36), len(_T62)
_POOL7 = ["".join(random.Random(i).choices(_B62, k=7)) for i in range(1009)]
_POOL17 = ["".join(random.Random(-i).choices(_B36, k=17)) for i in range(1013)]

def _coprime_near(space: int, fraction: float) -> int:
    """A multiplier near fraction * space and coprime to it: i -> i * m % space is then a
    permutation that spreads neighbouring i across the whole space (low i get high digits too)."""
    m = int(space * fraction)
    while math.gcd(m, space) != 1:
        m += 1
    return m


_CODE_SPACE = 9 * 10**8  # 9-digit codes, 100000000..999999999
_CODE_MUL = _coprime_near(_CODE_SPACE, 0.3819660113)
_W_SPACE = 36**12
_W_MUL = _coprime_near(_W_SPACE, 0.6180339887)
_R_SPACE = 62**8
_R_MUL = _coprime_near(_R_SPACE, 0.7548776662)
_A_SPACE = 36**12
_A_MUL = _coprime_near(_A_SPACE, 0.5698402910)
_LAUNCH = 2_088_090_000  # 2036-03-02 09:00 PST (17:00 UTC), in Unix seconds; all dates are in March-April 2036
_SPAN = 14 * 86400  # responses are spread over two weeks
_PST = -8 * 3600
_ASSIGNMENTS_PER_HIT = 100


def _permute(i: int, mul: int, space: int, add: int = 0) -> int:
    return (i * mul + add) % space


def code(p: int) -> str:
    """The completion code of participant p (p >= N gives codes of 'another study')."""
    return str(100_000_000 + _permute(p, _CODE_MUL, _CODE_SPACE, 123_456_789))


def worker(p: int) -> str:
    x = _permute(p, _W_MUL, _W_SPACE, int(_W_SPACE * 0.2718281828))
    return "A" + _T36[x % _N36] + _T36[(x // _N36) % _N36] + _T36[(x // _N36**2) % _N36] + _T36[(x // _N36**3) % _N36]


def response_id(p: int) -> str:
    """R_ and 15 of A-Za-z0-9, like Qualtrics' ResponseIds: 8 characters from a permutation of p
    (unique), 7 from a fixed pool (only for the look)."""
    x = _permute(p, _R_MUL, _R_SPACE, int(_R_SPACE * 0.1732050807))
    return ("R_" + _T62[x % _N62] + _T62[(x // _N62) % _N62] + _T62[(x // _N62**2) % _N62]
            + _T62[(x // _N62**3) % _N62] + _POOL7[p % len(_POOL7)])


def assignment_id(p: int) -> str:
    """30 characters like the real ones ("3" and 29 of A-Z0-9): 12 from a permutation of p (unique),
    17 from a fixed pool (only for the look)."""
    x = _permute(p, _A_MUL, _A_SPACE, int(_A_SPACE * 0.3141592653))
    return ("3" + _T36[x % _N36] + _T36[(x // _N36) % _N36] + _T36[(x // _N36**2) % _N36] + _T36[(x // _N36**3) % _N36]
            + _POOL17[p % len(_POOL17)])


def ip(p: int) -> str:
    x = (p * 2_654_435_761 + 0x0A000001) % 2**32
    return f"{(x >> 24) % 223 + 1}.{(x >> 16) & 255}.{(x >> 8) & 255}.{x & 255}"


_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737, as sample_data/make_sample.py uses


def pooled_ip(p: int, pool: int) -> str:
    """One of `pool` addresses: up to 762, from the three documentation /24s that make_sample.py
    draws from (so --ip-pool 762 is make_sample's shape at any size); beyond that, from 10/8."""
    i = (p * 2_654_435_761) % pool
    if pool <= 3 * 254:
        return f"{_DOC_NETS[i % 3]}.{1 + i // 3}"
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def kinds(n: int, seed: int) -> bytearray:
    """One kind per participant, drawn with the weights of KINDS; the kinds that borrow the next
    participant (shared_code, retake_first) make that one a plain exact match."""
    rnd = random.Random(seed)
    weights = [w for w, _ in KINDS.values()]
    weights[K["exact"]] = 10_000 - sum(weights)
    out = bytearray(rnd.choices(range(len(KIND_NAMES)), weights=weights, k=n))
    exact = K["exact"]
    for borrower in (K["shared_code"], K["retake_first"]):
        i = out.find(borrower)
        while i != -1:
            if i + 1 < n:
                out[i + 1] = exact
            else:
                out[i] = exact  # nobody to borrow from at the very end
            i = out.find(borrower, i + 1)
    return out


def _order(n: int, seed: int):
    """Assignment position -> participant: a permutation of range(n) without holding it."""
    mul = 1_000_003 + 2 * (seed % 1000)
    while math.gcd(mul, n) != 1:
        mul += 2
    add = seed * 7919 % n if n else 0
    return mul, add


# Days counted from 2036-02-01 (PST); these tables turn a day number into the text of that date.
_DAY0 = 2_085_436_800  # 2036-02-01 00:00 UTC
_WEEKDAYS = ("Fri", "Sat", "Sun", "Mon", "Tue", "Wed", "Thu")  # 2036-02-01 is a Friday


def _date_tables(days: int = 120):
    iso, mturk = [], []
    month_days = [("Feb", 2, 29), ("Mar", 3, 31), ("Apr", 4, 30), ("May", 5, 31), ("Jun", 6, 30)]
    d = 0
    for name, num, length in month_days:
        for dom in range(1, length + 1):
            if d >= days:
                break
            iso.append(f"2036-{num:02d}-{dom:02d}")
            mturk.append(f"{_WEEKDAYS[d % 7]} {name} {dom:02d}")
            d += 1
    return iso, mturk


_ISO_DAY, _MTURK_DAY = _date_tables()


def _split(t: int) -> tuple[int, int, int, int]:
    day, rest = divmod(t - _DAY0 + _PST, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return day, h, m, s


_SCORES = [str(8 + i) for i in range(13)]
_SS = [f"{i:02d}" for i in range(60)]
_Q_MINUTE: dict[int, str] = {}
_M_MINUTE: dict[int, tuple[str, str]] = {}


def qualtrics_time(t: int) -> str:
    """Unix seconds -> "2036-03-02 09:00:00" (Pacific time, as the export's timeZone says)."""
    minute, sec = divmod(t, 60)
    pre = _Q_MINUTE.get(minute)
    if pre is None:  # the text of each minute is made once: most rows of a large file share one
        d, h, m, _ = _split(t)
        pre = _Q_MINUTE[minute] = f"{_ISO_DAY[d]} {h:02d}:{m:02d}:"
    return pre + _SS[sec]


def mturk_time(t: int) -> str:
    """Unix seconds -> "Sun Mar 02 09:00:00 PST 2036" (the older batch-file style)."""
    minute, sec = divmod(t, 60)
    pre = _M_MINUTE.get(minute)
    if pre is None:
        d, h, m, _ = _split(t)
        pre = _M_MINUTE[minute] = f"{_MTURK_DAY[d]} {h:02d}:{m:02d}:"
    return pre + _SS[sec] + " PST 2036"


def _csv_cell(v: str) -> str:
    if any(c in v for c in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def _times(p: int, n: int) -> tuple[int, int]:
    """(start, duration) of participant p's response: starts spread evenly over the span."""
    start = _LAUNCH + (p * _SPAN) // max(n, 1)
    duration = 240 + (p * 7_919) % 660
    return start, duration


def write_qualtrics(path: Path, n: int, ks: bytearray, *, ip_pool: int = 0, chunk: int = 20_000) -> int:
    """Write the export (N responses, in time order). Returns its size in bytes.

    ip_pool 0: every response has its own IP address (bar the dup_ip kind); K > 0: all draw from
    K addresses, so each address is shared by about N/K responses."""
    address = (lambda p: pooled_ip(p, ip_pool)) if ip_pool else ip
    comments = [_csv_cell(c) for c in COMMENTS] + [_csv_cell(c) for c in MULTILINE_COMMENTS]
    n_plain = len(COMMENTS)
    kn = {name: K[name] for name in KIND_NAMES}
    exact = kn["exact"]
    header = "\r\n".join(",".join(_csv_cell(c) for c in row) for row in (Q_NAMES, Q_LABELS, Q_IMPORT_IDS)) + "\r\n"
    lat_lon = ("38,-97", "40,-74", "34,-118", "42,-71", "47,-122", "13,80")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        buf: list[str] = []
        for p in range(n):
            k = ks[p]
            start, dur = _times(p, n)
            status, finished, progress, channel = "IP Address", "True", "100", "anonymous"
            c = code(p)
            typed = worker(p)
            addr = address(p)
            q1 = "Purple" if p % 97 else "Blue"
            score = _SCORES[p % 13]
            x = p % 100
            comment = comments[n_plain + x % len(MULTILINE_COMMENTS)] if x < 7 else comments[x % n_plain]
            if k == exact:
                pass
            elif k == kn["dup_ip"]:
                addr = address(p - 1) if p else addr
            elif k == kn["blank_worker"]:
                typed = ""
            elif k == kn["worker_lower"]:
                typed = typed.lower()
            elif k == kn["worker_spaces"]:
                typed = f"  {typed} "
            elif k == kn["worker_no_a"]:
                typed = typed[1:]
            elif k == kn["unfinished"]:
                finished, progress, dur = "False", "92", dur * 92 // 100
            elif k == kn["spam"] or k == kn["spam_other"]:
                status = "Spam"
            elif k == kn["worker_mismatch"]:
                typed = worker(p + n)
            elif k == kn["excel_qualtrics"]:
                c = c + ".0"
            elif k == kn["retake_first"]:
                typed = worker(p + 1)  # the next participant's worker, whose second try it claims
            elif k == kn["short"]:
                dur = 38
            elif k == kn["nocode_pair"]:
                finished, progress, c, score, comment = "False", str(8 + p % 60), "", "", ""
                dur = dur * int(progress) // 100 + 1
                if p % 3 == 0:
                    q1 = ""
            elif k == kn["preview_other"]:
                status, channel, addr, typed = "Survey Preview", "preview", "", ("test" if p % 2 else "")
            end = start + dur
            lat = "," if status == "Survey Preview" else lat_lon[p % 6]
            buf.append(
                f"{qualtrics_time(start)},{qualtrics_time(end)},{status},{addr},{progress},{dur},{finished},"
                f"{qualtrics_time(end + 1)},{response_id(p)},,,,,{lat},{channel},EN,{_csv_cell(typed)},{q1},"
                f"{comment},{score},{c}\r\n"
            )
            if len(buf) >= chunk:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
    return path.stat().st_size


def _hit(h: int) -> tuple[str, str]:
    """(HITId, CreationTime) of the h-th HIT (ids drawn from beyond every assignment's)."""
    return assignment_id(2**40 + h), mturk_time(_LAUNCH + (h * _SPAN) // 10_000)


def write_mturk(path: Path, n: int, ks: bytearray, *, seed: int, chunk: int = 20_000) -> int:
    """Write the batch results (N assignments, grouped by HIT, participants in permuted order)."""
    kn = {name: K[name] for name in KIND_NAMES}
    exact = kn["exact"]
    other_study = {kn[x] for x in ("retake_first", "unclaimed_other", "preview_other", "spam_other")}
    mul, add = _order(n, seed)
    hit_type = "3CLHKW0XCWUTYOM7XXI6R9XUHIH59Y"
    title = "Answer a 10-minute survey about images ($0.50)"
    description = "Complete a short survey on Qualtrics and paste the completion code shown at the end."
    feedback = "The completion code you entered does not match any survey response."
    q = '","'
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write('"' + q.join(M_NAMES) + '"')
        buf: list[str] = []
        prefix = ""
        for pos in range(n):
            if pos % _ASSIGNMENTS_PER_HIT == 0:
                hit_id, created = _hit(pos // _ASSIGNMENTS_PER_HIT)
                expires = mturk_time(_LAUNCH + ((pos // _ASSIGNMENTS_PER_HIT) * _SPAN) // 10_000 + 7 * 86400)
                prefix = (
                    f'\r\n"{hit_id}","{hit_type}","{title}","{description}","survey, images, research","$0.50",'
                    f'"{created}","{_ASSIGNMENTS_PER_HIT}","BatchId:4812345;OriginalHitTemplateId:928390865;",'
                    f'"3600","2592000","{expires}","","",'
                )
            p = (pos * mul + add) % n
            k = ks[p]
            start, dur = _times(p, n)
            accept = start - 15 - p % 75
            submit = start + dur + 10 + p % 110
            c = code(p)
            w = worker(p)
            status, approved, rejected, fb = "Submitted", "", "", ""
            if k == exact:
                pass
            elif k in other_study:
                c = code(p + n)  # a code no response carries; this worker has no response
                w = worker(p + 2 * n)
            elif k == kn["typo"]:
                j = 1 + p % 8
                c = c[:j] + str((int(c[j]) + 1 + p % 9) % 10) + c[j + 1:]
            elif k == kn["transposed"]:
                j = 1 + p % 7
                if c[j] != c[j + 1]:
                    c = c[:j] + c[j + 1] + c[j] + c[j + 2:]
                else:
                    c = c[:j] + str((int(c[j]) + 1) % 10) + c[j + 1:]
            elif k == kn["o_for_zero"]:
                j = c.find("0", 1)
                c = c[:j] + "O" + c[j + 1:] if j > 0 else c[:-1] + "I"
            elif k == kn["workerid_as_code"]:
                c = w
            elif k == kn["code_in_sentence"]:
                c = f"Thank you! My completion code is {c}."
            elif k == kn["nbsp_code"]:
                c = f"\u00a0{c}\u200b"
            elif k == kn["shared_code"]:
                c = code(p + 1)
            elif k == kn["excel_mturk"]:
                c = f"{c[0]}.{c[1:6]}E+08"
            elif k == kn["nocode_pair"]:
                c = ""
            elif k == kn["approved"]:
                status, approved = "Approved", mturk_time(submit + 3600 * (2 + p % 18))
            elif k == kn["rejected"]:
                status, rejected, fb = "Rejected", mturk_time(submit + 3600 * (2 + p % 18)), feedback
            buf.append(
                f'{prefix}"{assignment_id(p)}","{w}","{status}","{mturk_time(accept)}","{mturk_time(submit)}",'
                f'"{mturk_time(submit + 2592000)}","{approved}","{rejected}","{fb}","{submit - accept}",'
                f'"0% (0/0)","0% (0/0)","0% (0/0)","{c}"'
            )
            if len(buf) >= chunk:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
    return path.stat().st_size


def _write_one(which: str, path: Path, n: int, seed: int, ip_pool: int) -> int:
    ks = kinds(n, seed)
    return write_qualtrics(path, n, ks, ip_pool=ip_pool) if which == "qualtrics" else write_mturk(path, n, ks, seed=seed)


def write_study(folder: Path, n: int, seed: int = 20360302, *, ip_pool: int = 0, parallel: bool = True) -> tuple[Path, Path]:
    """Write both files into folder; returns (qualtrics export, mturk batch). See write_qualtrics
    for ip_pool.

    The two files are written by two processes at once (each draws the same kinds from the seed),
    which halves the wait on a two-core machine and keeps this process small.
    """
    folder.mkdir(parents=True, exist_ok=True)
    q, m = folder / QUALTRICS_FILE, folder / MTURK_FILE
    if not parallel:
        _write_one("qualtrics", q, n, seed, ip_pool)
        _write_one("mturk", m, n, seed, ip_pool)
        return q, m
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        jobs = [pool.apply_async(_write_one, (which, path, n, seed, ip_pool)) for which, path in (("mturk", m), ("qualtrics", q))]
        for job in jobs:
            job.get()
    return q, m
