"""The HTTP client for the central loyalty API (Eber v3 integration style; see shared/reference/eber-api.md).

What the contract fixes, and what this module does about it:
- Basic auth with the API key as the user name and an empty password.
- Form-encoded bodies; nested lists (items, payments) travel as JSON strings in `*_json` fields.
- A configurable base URL (`https://api.eber.co/v3/public` or the documented `.../api/v3`) and a configurable path per
  endpoint, because the public material disagrees on names (`issue_point` vs `issue_points`).
- Every answer becomes either a dict or a typed error from `sync.errors`; nothing the server sends (HTML, half a
  body, `{"status": false}` with HTTP 200) escapes as an unexpected exception.

One `requests.Session` per thread (sessions are not thread-safe), each keeping its connections alive, with
(connect, read) timeouts on every call and TLS verification on unless the configuration turns it off.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from sync.eber.paths import DEFAULT_BASE_URL, DEFAULT_PATHS
from sync.errors import (
    ApiError,
    AuthError,
    BadResponse,
    NetworkError,
    NotFound,
    RateLimited,
    Refused,
    ServerError,
    TooLarge,
    ValidationError,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ApiConfig:
    base_url: str
    api_key: str = field(repr=False)
    verify_tls: bool = True
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    paths: Mapping[str, str] = field(default_factory=dict)
    pool_size: int = 8
    user_agent: str = "FrontDesk-sync/1"
    # A whole request, answer included, never takes longer than this (a slow-drip server cannot hang sync) ...
    total_deadline: float = 30.0
    # ... and no answer is read beyond this many bytes (member pages are the largest legitimate answers).
    max_answer_bytes: int = 8 * 1024 * 1024

    def path(self, endpoint: str) -> str:
        return self.paths.get(endpoint) or DEFAULT_PATHS.get(endpoint) or endpoint


@dataclass(frozen=True)
class ApiResponse:
    status: int
    data: dict[str, Any]
    headers: Mapping[str, str]
    elapsed: float


def form_value(value: Any) -> str | None:
    """How one field travels in a form body. Lists and dicts become compact JSON; money stays exact."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        raise TypeError("floats are not sent to the loyalty API: pass money as Decimal or a string")
    return str(value)


def encode_form(params: Mapping[str, Any] | None) -> dict[str, str]:
    encoded: dict[str, str] = {}
    for key, value in (params or {}).items():
        text = form_value(value)
        if text is not None:
            encoded[key] = text
    return encoded


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date. Nonsense gives None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, min(seconds, 24 * 3600.0))


def _error_fields(body: Any) -> dict[str, list[str]]:
    """`{"error": {"field": ["msg", ...]}}` (the documented shape) and the odd variants seen in the wild."""
    if not isinstance(body, dict):
        return {}
    error = body.get("error")
    fields: dict[str, list[str]] = {}
    if isinstance(error, dict):
        for key, value in error.items():
            if isinstance(value, list):
                fields[str(key)] = [str(v) for v in value]
            elif value is not None:
                fields[str(key)] = [str(value)]
    elif isinstance(error, str) and error:
        fields["exception"] = [error]
    elif isinstance(error, list) and error:
        fields["exception"] = [str(v) for v in error]
    if not fields and isinstance(body.get("message"), str) and body["message"]:
        fields["exception"] = [body["message"]]
    return fields


def _first_message(fields: Mapping[str, list[str]], fallback: str) -> str:
    for messages in fields.values():
        if messages:
            return messages[0]
    return fallback


class LoyaltyClient:
    """Talks to one loyalty API account. Safe to share between threads."""

    def __init__(self, config: ApiConfig) -> None:
        if not config.base_url.startswith(("http://", "https://")):
            raise ValueError("the API base URL must start with https:// (or http:// for a local test server)")
        self.config = config
        self._base = config.base_url.rstrip("/") + "/"
        origin = urlsplit(self._base)
        self._origin = (origin.scheme, origin.netloc)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # the key never appears in logs or tracebacks
        return f"LoyaltyClient({self.config.base_url!r})"

    # --- plumbing ---------------------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=self.config.pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.auth = (self.config.api_key, "")
            session.verify = self.config.verify_tls
            session.trust_env = False  # a proxy from the environment must not see the loyalty API key
            session.headers.update({"Accept": "application/json", "User-Agent": self.config.user_agent})
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def url(self, endpoint: str, **path_args: Any) -> str:
        path = self.config.path(endpoint).format(**path_args).lstrip("/")
        return urljoin(self._base, path)

    def call(self, method: str, endpoint: str, *, query: Mapping[str, Any] | None = None,
             form: Mapping[str, Any] | None = None, idempotency_key: str | None = None,
             headers: Mapping[str, str] | None = None, url: str | None = None,
             path_args: Mapping[str, Any] | None = None, allow_not_modified: bool = False) -> ApiResponse:
        """One request. Returns the parsed answer or raises a `sync.errors` type; never anything else."""
        target = url or self.url(endpoint, **(path_args or {}))
        send_headers = dict(headers or {})
        if idempotency_key and method.upper() != "GET":
            send_headers["Idempotency-Key"] = idempotency_key
        started = time.perf_counter()
        deadline = time.monotonic() + self.config.total_deadline
        try:
            response = self._session().request(
                method.upper(), target, params=encode_form(query) or None,
                data=encode_form(form) if method.upper() != "GET" else None,
                headers=send_headers,
                timeout=(self.config.connect_timeout, min(self.config.read_timeout, self.config.total_deadline)),
                allow_redirects=False, stream=True,
            )
            try:
                # Read here, bounded in time and size, so a connection dropped mid-body is a NetworkError and a
                # slow or endless answer ends at the deadline or the cap.
                content = self._read_bounded(response, deadline)
            finally:
                response.close()
        except requests.exceptions.SSLError as error:
            raise NetworkError(f"TLS problem talking to {self._origin[1]}: {_short(error)}", sent=False) from None
        except requests.exceptions.ConnectTimeout:
            raise NetworkError(f"could not connect to {self._origin[1]} in time", sent=False) from None
        except requests.exceptions.Timeout:
            raise NetworkError(f"no answer from {self._origin[1]} in time") from None
        except requests.exceptions.ConnectionError as error:
            raise NetworkError(f"cannot reach {self._origin[1]}: {_short(error)}", sent=_maybe_sent(error)) from None
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as error:
            raise NetworkError(f"the answer from {self._origin[1]} broke off: {_short(error)}") from None
        except requests.exceptions.RequestException as error:
            raise NetworkError(f"request to {self._origin[1]} failed: {_short(error)}") from None
        except urllib3.exceptions.ReadTimeoutError:
            raise NetworkError(f"no answer from {self._origin[1]} in time") from None
        except (urllib3.exceptions.HTTPError, OSError) as error:  # raised while reading the body ourselves
            raise NetworkError(f"the answer from {self._origin[1]} broke off: {_short(error)}") from None
        elapsed = time.perf_counter() - started
        log.debug("%s %s -> %s in %.1f ms", method.upper(), endpoint, response.status_code, elapsed * 1000)
        return self._interpret(response, content, elapsed, allow_not_modified)

    def _read_bounded(self, response: requests.Response, deadline: float) -> bytes:
        cap = self.config.max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"the answer would be {int(declared):,} bytes, more than the {cap:,} allowed",
                           status=response.status_code)
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        while True:
            # read1: whatever one receive brings (a slow drip cannot hold a full-size read open past the deadline)
            chunk = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"the answer is larger than the {cap:,} bytes allowed", status=response.status_code)
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise NetworkError(f"the answer from {self._origin[1]} took longer than "
                                   f"{self.config.total_deadline:g} s")
        return b"".join(chunks)

    def _interpret(self, response: requests.Response, content: bytes, elapsed: float,
                   allow_not_modified: bool) -> ApiResponse:
        status = response.status_code
        if status == 304 and allow_not_modified:
            return ApiResponse(status, {}, response.headers, elapsed)
        body: Any = None
        parse_failed = False
        if content.strip():
            try:
                body = json.loads(content)
            except (ValueError, UnicodeDecodeError):
                parse_failed = True
        if 200 <= status < 300:
            if status == 204 or (body is None and not parse_failed):
                return ApiResponse(status, {}, response.headers, elapsed)
            if parse_failed:
                raise BadResponse(f"the server answered {status} with something that is not JSON "
                                  f"({_snippet(content)})", status=status)
            if isinstance(body, list):
                body = {"data": body}
            if not isinstance(body, dict):
                raise BadResponse(f"the server answered {status} with JSON that is not an object", status=status)
            if body.get("status") is False or body.get("status") in ("false", "error", 0):
                fields = _error_fields(body)
                raise Refused(_first_message(fields, "the server refused the request"), fields or
                              {"exception": ["the server refused the request"]}, status=status, body=body)
            return ApiResponse(status, body, response.headers, elapsed)
        fields = _error_fields(body)
        message = _first_message(fields, _snippet(content) if parse_failed or body is None else f"HTTP {status}")
        if status in (401, 403):
            raise AuthError(message, status=status, body=body)
        if status == 404:
            raise NotFound(message, status=status, body=body)
        if status == 429:
            raise RateLimited(message, parse_retry_after(response.headers.get("Retry-After")), status=status,
                              body=body)
        if status >= 500 or status in (408, 425):
            raise ServerError(message, status=status, body=body)
        if 300 <= status < 400:
            raise BadResponse(f"unexpected redirect ({status}) to {response.headers.get('Location', '?')}",
                              status=status)
        if status >= 400:
            raise ValidationError(message, fields, status=status, body=body)
        raise BadResponse(f"unexpected HTTP status {status}", status=status)

    # --- endpoints --------------------------------------------------------------------------------------------
    def post(self, endpoint: str, form: Mapping[str, Any], *, idempotency_key: str | None = None,
             query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST to an endpoint by name ("issue_point"; see `sync.eber.paths`)."""
        return self.call("POST", endpoint, form=form, query=query, idempotency_key=idempotency_key).data

    def issue_point(self, params: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.post("issue_point", params, idempotency_key=idempotency_key)

    def redeem(self, params: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.post("redeem", params, idempotency_key=idempotency_key)

    def void_transaction(self, transaction_id: str | int, params: Mapping[str, Any] | None = None, *,
                         idempotency_key: str | None = None) -> dict[str, Any]:
        # The transaction id travels in the query string, as the clients of the real API send it.
        return self.post("void_transaction", params or {}, query={"transaction_id": transaction_id},
                         idempotency_key=idempotency_key)

    def void_used_reward(self, params: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.post("void_used_reward", params, idempotency_key=idempotency_key)

    def create_user(self, params: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.post("user_create", params, idempotency_key=idempotency_key)

    def adjust_points(self, params: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        return self.post("point_adjust", params, idempotency_key=idempotency_key)

    def user_show(self, *, phone: str | None = None, phone_code: str | None = None, email: str | None = None,
                  user_id: int | str | None = None, list_redeemable: bool = True,
                  list_point_conversion: bool = True) -> dict[str, Any]:
        query: dict[str, Any] = {"phone": phone, "phone_code": phone_code if phone else None, "email": email,
                                 "user_id": user_id}
        if list_redeemable:
            query["list_redeemable"] = 1
        if list_point_conversion:
            query["list_point_conversion"] = 1
        return self.call("GET", "user_show", query=query).data

    def get_user(self, user_id: int | str) -> dict[str, Any]:
        return self.call("GET", "user", path_args={"id": user_id}).data

    def update_user(self, user_id: int | str, fields: Mapping[str, Any], *,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        return self.call("POST", "user", path_args={"id": user_id}, form=fields,
                         idempotency_key=idempotency_key).data

    def point_transactions(self, *, page: int | None = None, limit: int | None = None,
                           display_name: str | None = None, **filters: Any) -> dict[str, Any]:
        """E5, with what it is seen to take (page, limit, display_name); extra filters are hints a server may
        ignore, so callers must match every row strictly themselves."""
        return self.call("GET", "point_transactions", query={
            "page": page, "limit": limit, "display_name": display_name, **filters}).data

    def list_users_pages(self, *, from_date: str | None = None, limit: int = 100) -> Iterator[dict[str, Any]]:
        """Pages of `business/list/user`, following `next_url` (only ever on the configured host)."""
        response = self.call("GET", "list_users", query={"from_date": from_date, "limit": limit})
        seen: set[str] = set()
        while True:
            page = response.data
            if not isinstance(page.get("data", []), list):
                raise BadResponse("the member list is not a list")
            yield page
            next_url = page.get("next_url")
            if not next_url or not isinstance(next_url, str):
                return
            parts = urlsplit(next_url)
            if (parts.scheme, parts.netloc) != self._origin:
                # Following it would send our API key to another host.
                raise BadResponse(f"next_url points to another server ({parts.netloc})")
            if next_url in seen:
                raise BadResponse("the member list's next_url repeats itself")
            seen.add(next_url)
            response = self.call("GET", "list_users", url=next_url)

    def programme(self, etag: str | None = None) -> ApiResponse:
        """Our extension: the programme definition. Status 304 (empty data) when `etag` is still current."""
        headers = {"If-None-Match": etag} if etag else None
        return self.call("GET", "programme", headers=headers, allow_not_modified=True)

    def probe(self) -> float:
        """A cheap authenticated request; returns its round-trip seconds or raises like any other call."""
        endpoint = "probe"
        query = {"limit": 1} if self.config.path("probe") == DEFAULT_PATHS["list_users"] else None
        return self.call("GET", endpoint, query=query).elapsed


def _maybe_sent(error: requests.exceptions.ConnectionError) -> bool:
    """False when no connection was ever made (refused, DNS), so the request cannot have reached the server."""
    reason = error.args[0] if error.args else None
    inner = getattr(reason, "reason", reason)
    return not isinstance(inner, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError))


def _short(error: BaseException) -> str:
    text = str(error)
    # requests' messages nest the whole urllib3 chain; the innermost reason is what a person can act on.
    for marker in ("Caused by ", "] "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    return text.strip(" ()'\"")[:200] or type(error).__name__


def _snippet(content: bytes) -> str:
    text = content[:120].decode("utf-8", "replace").replace("\n", " ").strip()
    return text or "empty body"


def client_from_settings(settings: Any, api_key: str, **overrides: Any) -> LoyaltyClient:
    """A client for `frontdesk.config.Settings` (api_url, verify_tls) and a key from `frontdesk.secrets`."""
    from frontdesk.logs import register_secret
    register_secret(api_key)  # masked in logs and stored errors, whoever supplied the key
    return LoyaltyClient(ApiConfig(base_url=settings.api_url, api_key=api_key, verify_tls=settings.verify_tls,
                                   **overrides))


__all__ = [
    "ApiConfig", "ApiError", "ApiResponse", "LoyaltyClient", "DEFAULT_PATHS", "DEFAULT_BASE_URL",
    "client_from_settings", "encode_form", "parse_retry_after",
]
