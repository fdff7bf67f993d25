"""List assignments through the MTurk API and write them in the requester website's batch-results format.

One of the two modules allowed to use boto3 (house rule). It only reads (GetHIT, ListHITs,
ListAssignmentsForHIT, every page of each), so boto3's own retries are safe here, unlike when paying.

The listing is turned into a batch-results CSV (the website's column order, "$0.40" rewards,
"2018-10-08 17:46:38 UTC" times, Answer.* columns from the Answer XML) and read back with the same
importer as a downloaded batch, so `match`, `pay --upload-csv` and everything else treat it alike.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from ...atomic import atomic_open
from ...notices import relabel
from ...progress import active as progress_shown, report
from .client import REGION
from .endpoints import MTurkEndpoint
from ...errors import InputError, ReconcileError, ServiceError

# The requester website's batch-results columns, in its order (e.g. the header of the Chucooleg
# batch in shared/realdata). Input.* columns are not available through the API; Answer.* follow.
HIT_COLUMNS = (
    "HITId", "HITTypeId", "Title", "Description", "Keywords", "Reward", "CreationTime", "MaxAssignments",
    "RequesterAnnotation", "AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds", "Expiration",
    "NumberOfSimilarHITs", "LifetimeInSeconds",
)
ASSIGNMENT_COLUMNS = (
    "AssignmentId", "WorkerId", "AssignmentStatus", "AcceptTime", "SubmitTime", "AutoApprovalTime",
    "ApprovalTime", "RejectionTime", "RequesterFeedback", "WorkTimeInSeconds", "LifetimeApprovalRate",
    "Last30DaysApprovalRate", "Last7DaysApprovalRate",
)
TRAILING_COLUMNS = ("Approve", "Reject")

HIT_ID_RE = re.compile(r"^[A-Z0-9]{1,64}$")
BATCH_ID_RE = re.compile(r"^[0-9]+$")
PAGE_SIZE = 100  # the largest MaxResults MTurk accepts
MAX_ATTEMPTS = 8  # boto3 attempts per call (throttling, 5xx, connection errors)
STATUSES = ["Submitted", "Approved", "Rejected"]

ProgressFn = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Listing:
    """What the API listed: the HITs (in the order found) and each HIT's assignments."""

    hits: tuple[dict, ...]
    submissions: tuple[tuple[dict, dict], ...]  # (HIT, assignment) pairs, HIT order then API order


def batch_annotation_id(annotation: str) -> str | None:
    """"BatchId:3006652;OriginalHitTemplateId:920937340;" -> "3006652" (None when there is none)."""
    m = re.search(r"(?:^|;)\s*BatchId:(\d+)\s*(?:;|$)", annotation or "")
    return m.group(1) if m else None


def pseudo_path(hit_ids: Iterable[str], batch_ids: Iterable[str]) -> str:
    """What `source` says for API-listed assignments (rows numbered as in `reconcile fetch mturk`'s file)."""
    parts = [f"batch-{b}" for b in batch_ids] + [f"hit-{h}" for h in hit_ids]
    return "mturk-api:" + "+".join(parts)


# ---------------------------------------------------------------- talking to MTurk


def _client(endpoint: MTurkEndpoint):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError, ProfileNotFound

    try:
        session = boto3.session.Session()
        creds = session.get_credentials()
    except ProfileNotFound as exc:
        raise ReconcileError(
            f"the AWS profile {exc.kwargs.get('profile', '')!r} is not in your AWS configuration.",
            hint="Check AWS_PROFILE (see ~/.aws/credentials), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
        ) from None
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise ReconcileError(
            f"AWS credentials are incomplete ({type(exc).__name__}).",
            hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.",
        ) from None
    if creds is None:
        raise ReconcileError(
            "no AWS credentials found for MTurk.",
            hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (for a local emulator any values do).",
        )
    # Listing only reads, so boto3's own retries (throttling, 5xx) cannot do harm here.
    config = Config(region_name=REGION, retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"}, connect_timeout=10, read_timeout=60, user_agent_extra="reconcile")
    return session.client("mturk", region_name=REGION, endpoint_url=endpoint.url, config=config)


def _service_error(exc: BaseException, endpoint: MTurkEndpoint, doing: str) -> ReconcileError:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        msg = re.sub(r"\s*\(\d{10,}\)\s*$", "", str(err.get("Message") or "")).strip()
        code = err.get("Code") or "error"
        if code in ("UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDeniedException"):
            return ServiceError(
                f"MTurk ({endpoint.name}) did not accept the AWS credentials while trying to {doing} ({code}).",
                hint="Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and that the account is a requester.",
            )
        return ServiceError(f"MTurk ({endpoint.name}) refused to {doing}: {msg or code}.")
    if isinstance(exc, EndpointConnectionError):
        return ServiceError(f"could not reach MTurk at {endpoint.url} to {doing}.", hint="Check the endpoint and your connection.")
    if isinstance(exc, BotoCoreError):
        return ServiceError(f"MTurk ({endpoint.name}): could not {doing} ({type(exc).__name__}).")
    raise exc


def list_assignments(
    endpoint: MTurkEndpoint,
    *,
    hit_ids: Iterable[str] = (),
    batch_ids: Iterable[str] = (),
    page_size: int = PAGE_SIZE,
    progress: Optional[ProgressFn] = None,
) -> Listing:
    """Every assignment (Submitted, Approved, Rejected) of the given HITs and of the HITs of the given batches.

    Batches are found through ListHITs (every page) by the `BatchId:NNN;` in RequesterAnnotation.
    A HIT ID that does not exist or a batch ID that no HIT carries is an error (one sentence).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    hit_ids = _unique(h.strip() for h in hit_ids)
    batch_ids = _unique(b.strip().removeprefix("BatchId:").rstrip(";") for b in batch_ids)
    if not hit_ids and not batch_ids:
        raise InputError("no HIT or batch to list; pass --hit HITID or --batch BATCHID (repeatable).")
    for h in hit_ids:
        if not HIT_ID_RE.match(h):
            raise InputError(f"{h!r} is not an MTurk HIT ID (30 capital letters and digits, like 3PGQRAZX02KSXFVMRF51W2NSTKZSYT).")
    for b in batch_ids:
        if not BATCH_ID_RE.match(b):
            raise InputError(f"{b!r} is not a batch ID (the digits of `BatchId:3006652;` in the batch file's RequesterAnnotation).")
    say = progress or (lambda _msg: None)
    client = _client(endpoint)

    hits: dict[str, dict] = {}
    for h in hit_ids:
        try:
            hits[h] = client.get_hit(HITId=h)["HIT"]
        except ClientError as exc:
            msg = str(exc.response.get("Error", {}).get("Message") or "")
            if "does not exist" in msg:
                raise ServiceError(
                    f"MTurk ({endpoint.name}) has no HIT {h}.",
                    hint="Check the HIT ID, and --sandbox vs --production (MTurk forgets HITs some 120 days after they end).",
                ) from None
            raise _service_error(exc, endpoint, f"read HIT {h}") from None
        except BotoCoreError as exc:
            raise _service_error(exc, endpoint, f"read HIT {h}") from None

    if batch_ids:
        wanted = set(batch_ids)
        found: dict[str, int] = {b: 0 for b in batch_ids}
        pages = 0
        try:
            for page in client.get_paginator("list_hits").paginate(PaginationConfig={"PageSize": page_size}):
                pages += 1
                for hit in page.get("HITs", []):
                    of_batch = batch_annotation_id(hit.get("RequesterAnnotation", ""))
                    if of_batch is not None and of_batch in wanted:
                        found[of_batch] += 1
                        hits.setdefault(hit["HITId"], hit)
                say(f"listing HITs: page {pages}, {sum(found.values())} HIT(s) of batch {', '.join(batch_ids)} so far")
        except (ClientError, BotoCoreError) as exc:
            raise _service_error(exc, endpoint, "list HITs") from None
        missing = [b for b in batch_ids if not found[b]]
        if missing:
            raise ServiceError(
                f"no HIT at MTurk ({endpoint.name}) carries BatchId:{missing[0]} in its RequesterAnnotation.",
                hint="Check the batch ID and --sandbox vs --production; HITs created through the API have no batch: pass --hit HITID.",
            )

    pairs: list[tuple[dict, dict]] = []
    for n, (group_id, hit) in enumerate(hits.items(), start=1):
        count = 0
        try:
            paginator = client.get_paginator("list_assignments_for_hit")
            for page in paginator.paginate(HITId=group_id, AssignmentStatuses=STATUSES, PaginationConfig={"PageSize": page_size}):
                for a in page.get("Assignments", []):
                    pairs.append((hit, a))
                    count += 1
        except (ClientError, BotoCoreError) as exc:
            raise _service_error(exc, endpoint, f"list the assignments of HIT {group_id}") from None
        report(f"listing the assignments of {len(hits)} HIT(s)", n, len(hits))
        if not progress_shown():  # a reporter shows the count; else one line per HIT
            say(f"HIT {n}/{len(hits)} {group_id}: {count} assignment(s)")
    return Listing(tuple(hits.values()), tuple(pairs))


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for i in items:
        if i and i not in out:
            out.append(i)
    return out


# ---------------------------------------------------------------- the batch-results format


def format_time(value: Any) -> str:
    """A datetime (boto3) or epoch number -> "2018-10-08 17:46:38 UTC", the newer batch-file style."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def format_reward(value: Any) -> str:
    """The API's "0.40" -> the batch file's "$0.40" (text in, text out: never through float)."""
    text = str(value or "").strip()
    if not text:
        return ""
    return text if text.startswith("$") else f"${text}"


def parse_answer(xml_text: str) -> list[tuple[str, str]]:
    """Assignment.Answer (QuestionFormAnswers XML) -> [(name, value)] as the website's Answer.* columns.

    Crowd HTML templates answer with one `taskAnswers` FreeText holding JSON; the website
    flattens it into dotted columns (Answer.annotatedResult.boundingBoxes), and so do we.
    """
    if not xml_text or not xml_text.strip():
        return []
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return [("Answer", xml_text)]
    out: list[tuple[str, str]] = []
    for ans in root:
        if _local(ans.tag) != "Answer":
            continue
        name, values = "", []
        for child in ans:
            tag = _local(child.tag)
            if tag == "QuestionIdentifier":
                name = (child.text or "").strip()
            elif tag in ("FreeText", "SelectionIdentifier", "OtherSelectionText", "UploadedFileKey"):
                values.append(child.text or "")
            elif tag == "UploadedFileSizeInBytes":
                continue
        value = "|".join(values)
        if name == "taskAnswers":
            flat = _flatten_task_answers(value)
            if flat is not None:
                out.extend(flat)
                continue
        out.append((name, value))
    return out


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _flatten_task_answers(text: str) -> list[tuple[str, str]] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, bool):
            out.append((prefix, "true" if value else "false"))
        elif isinstance(value, str):
            out.append((prefix, value))
        elif value is None:
            out.append((prefix, ""))
        else:
            out.append((prefix, json.dumps(value, separators=(",", ":"), ensure_ascii=False)))

    walk("", data)
    return out


def batch_table(listing: Listing) -> tuple[list[str], list[list[str]]]:
    """(header, rows) in the batch-results format for the listed assignments."""
    answers = [dict(parse_answer(a.get("Answer", ""))) for _h, a in listing.submissions]
    answer_names: list[str] = []
    seen: set[str] = set()
    for d in answers:
        for k in d:
            if k not in seen:
                seen.add(k)
                answer_names.append(k)
    header = [*HIT_COLUMNS, *ASSIGNMENT_COLUMNS, *(f"Answer.{k}" for k in answer_names), *TRAILING_COLUMNS]
    rows: list[list[str]] = []
    for (hit, a), ans in zip(listing.submissions, answers):
        row = {
            "HITId": hit.get("HITId", ""),
            "HITTypeId": hit.get("HITTypeId", ""),
            "Title": hit.get("Title", ""),
            "Description": hit.get("Description", ""),
            "Keywords": hit.get("Keywords", ""),
            "Reward": format_reward(hit.get("Reward")),
            "CreationTime": format_time(hit.get("CreationTime")),
            "MaxAssignments": _text(hit.get("MaxAssignments")),
            "RequesterAnnotation": hit.get("RequesterAnnotation", ""),
            "AssignmentDurationInSeconds": _text(hit.get("AssignmentDurationInSeconds")),
            "AutoApprovalDelayInSeconds": _text(hit.get("AutoApprovalDelayInSeconds")),
            "Expiration": format_time(hit.get("Expiration")),
            "AssignmentId": a.get("AssignmentId", ""),
            "WorkerId": a.get("WorkerId", ""),
            "AssignmentStatus": a.get("AssignmentStatus", ""),
            "AcceptTime": format_time(a.get("AcceptTime")),
            "SubmitTime": format_time(a.get("SubmitTime")),
            "AutoApprovalTime": format_time(a.get("AutoApprovalTime")),
            "ApprovalTime": format_time(a.get("ApprovalTime")),
            "RejectionTime": format_time(a.get("RejectionTime")),
            "RequesterFeedback": a.get("RequesterFeedback", ""),
            "WorkTimeInSeconds": _work_time(a.get("AcceptTime"), a.get("SubmitTime")),
        }
        # Approval rates are not in the API's answer; left empty rather than invented.
        for k, v in ans.items():
            row[f"Answer.{k}"] = v
        rows.append([row.get(col, "") for col in header])
    return header, rows


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _work_time(accept: Any, submit: Any) -> str:
    if isinstance(accept, datetime) and isinstance(submit, datetime):
        return str(int((submit - accept).total_seconds()))
    if isinstance(accept, (int, float)) and isinstance(submit, (int, float)):
        return str(int(submit - accept))
    return ""


def batch_csv_text(header: list[str], rows: list[list[str]]) -> str:
    # Like a website download: every field quoted, CRLF records (bare LF inside cells stays as is).
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _nonempty(listing: Listing, hit_ids, batch_ids) -> None:
    if not listing.submissions:
        what = ", ".join([*(f"batch {b}" for b in batch_ids), *(f"HIT {h}" for h in hit_ids)])
        raise ServiceError(f"MTurk lists no assignments for {what}; there is nothing to write.", hint="Wait until workers have submitted.")


def save_batch_csv(
    out: str | Path,
    *,
    endpoint: MTurkEndpoint,
    hit_ids: Iterable[str] = (),
    batch_ids: Iterable[str] = (),
    page_size: int = PAGE_SIZE,
    progress: Optional[ProgressFn] = None,
) -> int:
    """List the assignments and write them to `out` (atomically) as a batch-results CSV; returns the count."""
    hit_ids, batch_ids = tuple(hit_ids), tuple(batch_ids)
    out_path = Path(out)
    if not out_path.parent.is_dir():
        raise InputError(f"{out}: the folder {out_path.parent} does not exist.")
    listing = list_assignments(endpoint, hit_ids=hit_ids, batch_ids=batch_ids, page_size=page_size, progress=progress)
    _nonempty(listing, hit_ids, batch_ids)
    header, rows = batch_table(listing)
    with atomic_open(out_path, "w", encoding="utf-8", newline="") as fh:
        fh.write(batch_csv_text(header, rows))
    return len(rows)


def read_mturk_api(
    paths: list[str],
    *,
    endpoint: MTurkEndpoint,
    hit_ids: tuple[str, ...] = (),
    batch_ids: tuple[str, ...] = (),
    code_column: str | None = None,
    participant_column: str | None = None,
    page_size: int = PAGE_SIZE,
    progress: Optional[ProgressFn] = None,
):
    """Batch files plus the API listing, read together by `read_mturk` (duplicates caught across both).

    API-listed records point at `pseudo_path(...)`, rows numbered as in the file `fetch mturk` writes.
    """
    from .batch_csv import read_mturk_csv as read_mturk

    listing = list_assignments(endpoint, hit_ids=hit_ids, batch_ids=batch_ids, page_size=page_size, progress=progress)
    _nonempty(listing, hit_ids, batch_ids)
    header, rows = batch_table(listing)
    label = pseudo_path(hit_ids, batch_ids)
    with tempfile.TemporaryDirectory(prefix="reconcile-mturk-") as tmp:
        tmp_path = str(Path(tmp) / "mturk-api.csv")
        Path(tmp_path).write_text(batch_csv_text(header, rows), encoding="utf-8", newline="")
        data = read_mturk([*map(str, paths), tmp_path], code_column=code_column, participant_column=participant_column)
    return relabel_input(data, tmp_path, label)


def relabel_input(data, old_path: str, new_path: str):
    """The same SubmissionInput with every mention of the temporary file replaced by `new_path`."""

    def ref(r):
        return dataclasses.replace(r, path=new_path) if r.path == old_path else r

    def assignment(a):
        return dataclasses.replace(a, source=ref(a.source))

    batches = tuple(
        dataclasses.replace(
            b,
            path=new_path if b.path == old_path else b.path,
            submissions=tuple(assignment(a) for a in b.submissions),
            warnings=tuple(relabel(w, old_path, new_path) for w in b.warnings),
        )
        for b in data.files
    )
    return dataclasses.replace(
        data,
        files=batches,
        submissions=tuple(assignment(a) for a in data.submissions),
        duplicates=tuple(dataclasses.replace(d, source=ref(d.source), duplicate_of=ref(d.duplicate_of)) for d in data.duplicates),
    )


def stderr_progress() -> ProgressFn:
    import sys

    def show(message: str) -> None:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()

    return show
