"""The API client: request shape and error typing, against the reference server and a deliberately odd server."""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from sync.client import ApiConfig, LoyaltyClient, encode_form, parse_retry_after
from sync.errors import (
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
from tests.sync.conftest import RunningServer, free_port


# --- a real HTTP server that answers whatever a test scripts ------------------------------------------------------
class OddHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen: list[dict[str, object]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        self.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                          "form": parse_qs(body.decode())})
        if path.endswith("/drip"):
            # A slow-drip server: every byte arrives well inside the read timeout, the whole answer never does.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
            return
        if path.endswith("/huge") or path.endswith("/hugeundeclared"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if path.endswith("/huge"):
                self.send_header("Content-Length", str(50 * 1024 * 1024))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            try:
                self.wfile.write(b'{"data": [')
                for _ in range(50 * 16):
                    self.wfile.write(b"0," * 32768)
            except OSError:
                pass
            self.close_connection = True
            return
        if path.endswith("/echo"):
            payload = json.dumps({"form": {k: v[0] for k, v in parse_qs(body.decode()).items()},
                                  "headers": dict(self.headers)}).encode()
            status, headers = 200, {"Content-Type": "application/json"}
        else:
            status, headers, payload = self.script.get(path.rsplit("/", 1)[-1], (404, {}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def odd() -> Iterator[tuple[str, type[OddHandler]]]:
    OddHandler.script = {}
    OddHandler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), OddHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v3/public", OddHandler
    httpd.shutdown()
    httpd.server_close()


def odd_client(url: str, **paths: str) -> LoyaltyClient:
    return LoyaltyClient(ApiConfig(base_url=url, api_key="secret-key", paths=paths, read_timeout=5))


# --- request shape ----------------------------------------------------------------------------------------------
def test_basic_auth_form_encoding_and_idempotency_header(odd: tuple[str, type[OddHandler]]) -> None:
    url, handler = odd
    client = odd_client(url, issue_point="echo")
    answer = client.issue_point({"amount": Decimal("58.30"), "phone": "91234567", "phone_code": "SG",
                                 "item_data_json": [{"name": "Latte", "quantity": 2, "unit_amount": "6.50"}],
                                 "notify": True, "note": None}, idempotency_key="abc123")
    form, headers = answer["form"], answer["headers"]
    assert form["amount"] == "58.30"
    assert json.loads(form["item_data_json"]) == [{"name": "Latte", "quantity": 2, "unit_amount": "6.50"}]
    assert form["notify"] == "1" and "note" not in form
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"secret-key:").decode()
    assert headers["Idempotency-Key"] == "abc123"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_money_is_never_sent_as_a_float() -> None:
    with pytest.raises(TypeError):
        encode_form({"amount": 58.3})


def test_tls_verification_is_on_by_default_and_the_key_stays_out_of_repr() -> None:
    config = ApiConfig(base_url="https://api.example.test/v3/public", api_key="very-secret")
    client = LoyaltyClient(config)
    assert config.verify_tls is True
    assert client._session().verify is True
    assert "very-secret" not in repr(config) and "very-secret" not in repr(client)


def test_both_path_styles_and_both_issue_point_names(server: RunningServer, counter: object) -> None:
    for base in (server.api_url, server.root_url + "/api/v3"):
        for path in ("integration/issue_point", "integration/issue_points"):
            client = LoyaltyClient(ApiConfig(base_url=base, api_key=server.api_key, paths={"issue_point": path}))
            answer = client.issue_point({"user_id": 100001, "amount": "20.00", "custom_store_id": "TAMPINES",
                                         "transaction_no": f"P-{uuid.uuid4().hex[:10]}"})
            assert answer["status"] is True and answer["transaction_id"] > 0


# --- error typing against the reference server -----------------------------------------------------------------
def test_wrong_key_is_an_auth_error(server: RunningServer) -> None:
    client = LoyaltyClient(ApiConfig(base_url=server.api_url, api_key="wrong"))
    with pytest.raises(AuthError) as caught:
        client.user_show(user_id=100001)
    assert caught.value.status == 401 and "Unauthenticated" in caught.value.message


def test_unknown_member_is_not_found(server: RunningServer) -> None:
    with pytest.raises(NotFound):
        server.client().user_show(user_id=999)


def test_validation_errors_carry_their_fields(server: RunningServer) -> None:
    with pytest.raises(ValidationError) as caught:
        server.client().issue_point({"user_id": 100001, "amount": "12.345"})
    assert "amount" in caught.value.fields
    assert caught.value.status == 400


def test_duplicate_transaction_no_is_a_validation_error_on_that_field(server: RunningServer) -> None:
    client = server.client()
    params = {"user_id": 100002, "amount": "30.00", "custom_store_id": "TAMPINES",
              "transaction_no": f"D-{uuid.uuid4().hex[:10]}"}
    client.issue_point(params)
    with pytest.raises(ValidationError) as caught:
        client.issue_point(params)
    assert caught.value.messages("transaction_no") == ["The transaction no has already been taken."]


def test_same_idempotency_key_with_another_body_is_refused(server: RunningServer) -> None:
    client = server.client()
    key = uuid.uuid4().hex
    first = client.issue_point({"user_id": 100003, "amount": "30.00", "transaction_no": f"I-{key[:8]}"},
                               idempotency_key=key)
    again = client.issue_point({"user_id": 100003, "amount": "30.00", "transaction_no": f"I-{key[:8]}"},
                               idempotency_key=key)
    assert again == first  # replayed, not applied twice
    with pytest.raises(ValidationError) as caught:
        client.issue_point({"user_id": 100003, "amount": "31.00", "transaction_no": f"I-{key[:8]}"},
                           idempotency_key=key)
    assert caught.value.status == 422 and "idempotency_key" in caught.value.fields


def test_rate_limit_carries_retry_after(server: RunningServer) -> None:
    server.faults(rate_limit_rate=1.0, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        server.client().user_show(user_id=100001)
    assert caught.value.retry_after == 7.0 and caught.value.transient


def test_server_errors_are_transient(server: RunningServer) -> None:
    server.faults(error_rate=1.0)
    with pytest.raises(ServerError) as caught:
        server.client().user_show(user_id=100001)
    assert caught.value.status == 500 and caught.value.transient


def test_dropped_connection_is_a_network_error(server: RunningServer) -> None:
    server.faults(drop_rate=1.0)
    with pytest.raises(NetworkError):
        server.client().user_show(user_id=100001)


def test_captive_portal_html_is_a_bad_response(server: RunningServer) -> None:
    server.faults(garbage_rate=1.0)
    with pytest.raises(BadResponse) as caught:
        server.client().user_show(user_id=100001)
    assert "not JSON" in caught.value.message


def test_refused_connection_is_a_network_error() -> None:
    client = LoyaltyClient(ApiConfig(base_url=f"http://127.0.0.1:{free_port()}/v3/public", api_key="k",
                                     connect_timeout=2))
    with pytest.raises(NetworkError):
        client.probe()


def test_slow_server_times_out_as_a_network_error(server: RunningServer) -> None:
    server.faults(latency_ms=1500)
    client = server.client(read_timeout=0.3)
    with pytest.raises(NetworkError) as caught:
        client.user_show(user_id=100001)
    assert "in time" in caught.value.message


# --- odd answers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, headers, body, expected", [
    (200, {"Content-Type": "application/json"}, b'{"status": false, "message": "Member is blocked"}', Refused),
    (200, {"Content-Type": "application/json"}, b'{"status": tru', BadResponse),
    (200, {"Content-Type": "application/json"}, b'"just a string"', BadResponse),
    (502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>", ServerError),
    (403, {}, b'{"error": "IP not allowed"}', AuthError),
    (422, {}, b'{"error_type": "validation", "error": {"email": ["The email format is invalid."]}}',
     ValidationError),
    (409, {}, b"", ValidationError),
    (302, {"Location": "https://login.example/"}, b"", BadResponse),
])
def test_odd_answers_are_typed_never_raw(odd: tuple[str, type[OddHandler]], status: int, headers: dict[str, str],
                                         body: bytes, expected: type[Exception]) -> None:
    url, handler = odd
    handler.script["odd"] = (status, headers, body)
    with pytest.raises(expected):
        odd_client(url, issue_point="odd").issue_point({"amount": "1.00"})


def test_refused_answer_keeps_the_message(odd: tuple[str, type[OddHandler]]) -> None:
    url, handler = odd
    handler.script["odd"] = (200, {}, b'{"status": false, "message": "Member is blocked"}')
    with pytest.raises(Refused) as caught:
        odd_client(url, issue_point="odd").issue_point({"amount": "1.00"})
    assert caught.value.message == "Member is blocked"


def test_a_list_answer_becomes_data(odd: tuple[str, type[OddHandler]]) -> None:
    url, handler = odd
    handler.script["point_transaction"] = (200, {}, b'[{"id": 1, "transaction_no": "R1"}]')
    assert odd_client(url).point_transactions(transaction_no="R1") == {"data": [{"id": 1, "transaction_no": "R1"}]}


def test_a_slow_drip_answer_ends_at_the_total_deadline(odd: tuple[str, type[OddHandler]]) -> None:
    url, _handler = odd
    client = LoyaltyClient(ApiConfig(base_url=url, api_key="k", read_timeout=5, total_deadline=1.0,
                                     paths={"user_show": "drip"}))
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        client.user_show(user_id=1)
    assert time.monotonic() - started < 3.0 and "longer than" in caught.value.message
    assert caught.value.may_have_applied  # it was sent: a POST cut off like this is in doubt


@pytest.mark.parametrize("path", ["huge", "hugeundeclared"])
def test_an_oversized_answer_is_refused_without_reading_it_all(odd: tuple[str, type[OddHandler]],
                                                               path: str) -> None:
    import tracemalloc

    url, _handler = odd
    client = LoyaltyClient(ApiConfig(base_url=url, api_key="k", read_timeout=5, max_answer_bytes=1024 * 1024,
                                     paths={"list_users": path}))
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            next(client.list_users_pages())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # a 50 MB answer costs at most a few MB, not 495


def test_a_refused_connection_was_never_sent() -> None:
    client = LoyaltyClient(ApiConfig(base_url=f"http://127.0.0.1:{free_port()}/v3/public", api_key="k"))
    with pytest.raises(NetworkError) as caught:
        client.issue_point({"amount": "1.00"})
    assert not caught.value.may_have_applied


def test_next_url_to_another_host_is_not_followed(odd: tuple[str, type[OddHandler]]) -> None:
    url, handler = odd
    handler.script["user"] = (200, {}, json.dumps({"data": [{"id": 1}],
                                                   "next_url": "https://evil.example/v3/public/business/list/user?page=2"}).encode())
    pages = odd_client(url).list_users_pages()
    assert next(pages)["data"] == [{"id": 1}]
    with pytest.raises(BadResponse):
        next(pages)
    assert all("evil" not in str(seen["path"]) for seen in handler.seen)


def test_retry_after_as_seconds_or_date() -> None:
    now = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0
