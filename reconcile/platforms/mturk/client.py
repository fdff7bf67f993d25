"""The one place a boto3 MTurk client is made, and the one cleaner of what MTurk says when it fails.

Credentials come from the standard AWS chain (environment, profiles) and are never printed or
stored: only a hash of the access key ID leaves this module (the account's identity, for the
one-payout-per-account lock). Messages are kept as the service wrote them, minus the trailing
timestamp, and never carry our request tokens.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from ...errors import ReconcileError
from ...platform import CallFailed

REGION = "us-east-1"
THROTTLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ThrottledException", "RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded"}
)
AUTH_CODES = frozenset({"UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDeniedException"})
_TIMESTAMP_TAIL = re.compile(r"\s*\(\d{10,}\)\s*$")
_TOKEN_USED = re.compile(r"idempotency token .* has already been processed", re.IGNORECASE)
_WRONG_STATUS = re.compile(r"can be called with a status of", re.IGNORECASE)
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")


@dataclass(frozen=True)
class Client:
    boto: Any  # the botocore MTurk client
    account: str  # a hash of the access key ID: which requester account this is, never the key


def make_client(endpoint_url: str, *, max_attempts: int = 1, pool: int = 10, connect_timeout: float = 10.0,
                read_timeout: float = 60.0) -> Client:
    """A boto3 MTurk client for `endpoint_url`, or one sentence saying what is wrong with the credentials.

    `max_attempts`: boto3's own tries per call. 1 when paying (the payout engine decides when to
    retry, with its own pacing; boto3 would resend a SendBonus on its own); more for read-only listing.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, NoCredentialsError, PartialCredentialsError, ProfileNotFound

    try:
        session = boto3.session.Session()
        creds = session.get_credentials()
        access_key = creds.access_key if creds is not None else ""
    except ProfileNotFound as exc:
        raise ReconcileError(
            f"the AWS profile {exc.kwargs.get('profile', '')!r} named by AWS_PROFILE does not exist.",
            hint="Check ~/.aws/config and ~/.aws/credentials, or unset AWS_PROFILE.",
        ) from None
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise ReconcileError(f"AWS credentials are incomplete ({type(exc).__name__}).",
                             hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.") from None
    except BotoCoreError as exc:  # the message may quote config files, never secrets; keep only the kind
        raise ReconcileError(f"AWS credentials could not be loaded ({type(exc).__name__}).",
                             hint="Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or your AWS profile.") from None
    if creds is None:
        raise ReconcileError(
            "no AWS credentials found for MTurk.",
            hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (for a local emulator any values do).",
        )
    config = Config(
        region_name=REGION,
        # total_max_attempts counts the first try too ("max_attempts" would still allow one more).
        retries={"total_max_attempts": max(1, max_attempts), "mode": "standard"},
        max_pool_connections=max(10, pool),
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra="reconcile",
    )
    try:
        boto = session.client("mturk", region_name=REGION, endpoint_url=endpoint_url, config=config)
    except ValueError:
        raise ReconcileError(
            "the MTurk endpoint URL is not usable.",
            hint="Give a full URL such as http://127.0.0.1:8443 (what `reconcile emulator mturk` prints).",
        ) from None
    account = hashlib.sha256(("mturk-account\x1f" + (access_key or "")).encode("utf-8")).hexdigest()
    return Client(boto, account)


def clean(message: str) -> str:
    """MTurk's message without its trailing timestamp, and without any 64-hex request token."""
    message = _TIMESTAMP_TAIL.sub("", message or "").strip()
    return _HEX64.sub("<token>", message)


def classify(exc: BaseException) -> CallFailed:
    """Any exception of a boto3 call as a CallFailed whose kind the payout engine can act on.
    Unexpected exceptions (our own bugs) are re-raised as they are."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or str(code)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLE_CODES or "rate exceeded" in message.lower():
            return CallFailed("throttled", "throttled (" + clean(message) + ")", code=code)
        if code == "ServiceFault" or status >= 500:
            return CallFailed("transient", f"{code or 'server error'}: {clean(message)}", sent=True, code=code)
        if _TOKEN_USED.search(message):
            return CallFailed("duplicate", "already paid (idempotency token already processed)", code=code)
        if _WRONG_STATUS.search(message):
            return CallFailed("conflict", clean(message), code=code)
        if code in AUTH_CODES:
            return CallFailed("refused", f"MTurk did not accept the AWS credentials ({code})", code=code)
        return CallFailed("refused", clean(message), code=code)
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return CallFailed("transient", f"connection problem: {type(exc).__name__}", sent=True)
    if isinstance(exc, BotoCoreError):
        return CallFailed("refused", clean(str(exc)), code=type(exc).__name__)
    raise exc
