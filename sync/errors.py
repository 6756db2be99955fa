"""What can go wrong talking to the loyalty API, as types the outbox worker can act on.

Every failure says whether trying again later can help (`transient`). Permanent failures park an outbox entry for a
manager; transient ones are retried with backoff. An authentication failure is neither: it is a configuration
problem (wrong or revoked key), so the worker pauses and shows it instead of burning through retries or parking
good sales.
"""
from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Base of every client error. `status` is the HTTP status when there was an answer.

    `may_have_applied`: the request may have reached the server and taken effect although no usable answer came
    back (a lost answer, a 5xx, a 2xx without the success shape). Such an entry is *in doubt*, never rejected.
    """

    transient = False
    may_have_applied: bool = False

    def __init__(self, message: str, *, status: int | None = None, body: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


class ValidationError(ApiError):
    """The server refused the request as invalid (400/422). `fields` maps a field name to its messages."""

    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None, *, status: int | None = None,
                 body: object = None) -> None:
        super().__init__(message, status=status, body=body)
        self.fields: dict[str, list[str]] = {str(k): list(v) for k, v in (fields or {}).items()}

    def messages(self, field: str) -> list[str]:
        return self.fields.get(field, [])


class Refused(ValidationError):
    """A 200 answer of the form `{"status": false, "message": ...}`: the server understood and said no."""


class NotFound(ApiError):
    """Unknown member, code or transaction (404)."""


class AuthError(ApiError):
    """Missing, wrong, expired or IP-restricted API key (401/403). Fix the configuration; retrying will not help."""


class RateLimited(ApiError):
    transient = True

    def __init__(self, message: str, retry_after: float | None = None, *, status: int | None = 429,
                 body: object = None) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class ServerError(ApiError):
    """The server failed (5xx, or 408). The effect may or may not have been applied: retry with the same key."""

    transient = True
    may_have_applied = True


class NetworkError(ApiError):
    """No answer at all: refused connection, DNS failure, TLS failure, timeout, connection dropped mid-answer.

    `sent` is False only when the request provably never left (no connection was made).
    """

    transient = True

    def __init__(self, message: str, *, sent: bool = True, status: int | None = None, body: object = None) -> None:
        super().__init__(message, status=status, body=body)
        self.sent = sent
        self.may_have_applied = sent


class BadResponse(ApiError):
    """An answer that is not the API speaking: HTML from a captive portal, truncated or non-JSON bodies."""

    transient = True
    may_have_applied = True


class ContractError(BadResponse):
    """A 2xx answer without the endpoint's success shape (`{}`, 204, `{"message": "OK"}`): not proof of delivery.

    Kept, retried with backoff and shown; the entry is in doubt until an answer settles it.
    """


class TooLarge(BadResponse):
    """The answer exceeded the size cap; it was not read further."""


def summarise(error: BaseException) -> str:
    """One line for logs, the sync panel and the outbox's stored error; masked (server text may echo secrets)."""
    from frontdesk.logs import mask_text
    return mask_text(_summarise(error)) or ""


def _summarise(error: BaseException) -> str:
    if isinstance(error, ValidationError) and error.fields:
        parts = [f"{field}: {'; '.join(messages)}" for field, messages in error.fields.items()]
        return "; ".join(parts)
    if isinstance(error, ApiError):
        return str(error)
    return f"{type(error).__name__}: {error}"
