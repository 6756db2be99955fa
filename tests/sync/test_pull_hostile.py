"""The member feed against a hostile server: endless pages, repeated pages, malformed records, a future clock."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.store.models import Member, SyncState
from sync.client import ApiConfig, LoyaltyClient
from sync.pull import MEMBERS_HIGH_WATER, Puller

Pages = Callable[[int, str], dict[str, Any]]


class FeedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    pages: Pages = staticmethod(lambda page, base: {"data": []})  # type: ignore[assignment]
    requests_seen = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests_seen += 1
        parts = urlsplit(self.path)
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        base = f"http://127.0.0.1:{self.server.server_address[1]}{parts.path}"
        body = json.dumps(type(self).pages(page, base)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def feed() -> Iterator[Callable[[Pages], LoyaltyClient]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def serve(pages: Pages) -> LoyaltyClient:
        FeedHandler.pages = staticmethod(pages)  # type: ignore[assignment]
        FeedHandler.requests_seen = 0
        return LoyaltyClient(ApiConfig(base_url=f"http://127.0.0.1:{httpd.server_port}/v3/public", api_key="k",
                                       read_timeout=5))

    yield serve
    httpd.shutdown()
    httpd.server_close()


def user(server_id: int, stamp: str = "2026-11-01 10:00:00", **extra: Any) -> dict[str, Any]:
    return {"id": server_id, "first_name": "Feed", "last_name": f"Member{server_id}", "display_name": "",
            "phone": None, "email": None, "updated_at": stamp, "points": [{"points": 10}], **extra}


def test_an_endless_feed_of_new_pages_ends_at_the_page_bound(feed: Callable[[Pages], LoyaltyClient],
                                                            counter: Engine) -> None:
    client = feed(lambda page, base: {"data": [user(900000 + page)], "next_url": f"{base}?page={page + 1}"})
    result = Puller(counter, client, max_pages=25).pull_members()
    assert result.pages == 25 and result.stopped == "stopped after 25 pages"
    assert FeedHandler.requests_seen == 25


def test_a_feed_that_repeats_its_page_is_cut_short(feed: Callable[[Pages], LoyaltyClient], counter: Engine) -> None:
    client = feed(lambda page, base: {"data": [user(910000)], "next_url": f"{base}?page={page + 1}"})
    result = Puller(counter, client).pull_members()
    assert result.stopped == "the member feed repeats itself" and result.pages == 1


def test_malformed_records_are_skipped_and_reported_without_personal_data(
        feed: Callable[[Pages], LoyaltyClient], counter: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with Session(counter) as session:
        victim = session.scalar(select(Member).where(Member.server_id == 100003))
        assert victim is not None
        victim_name = victim.first_name
    bad = [{"id": "not-a-number", "first_name": "Secret"}, {"id": 10**20, "first_name": "Huge"},
           user(100003, first_name={"nested": "Mallory"}), user(100004, points="lots"), "a string"]
    client = feed(lambda page, base: {"data": [*bad, user(920001)], "next_url": None})
    result = Puller(counter, client).pull_members()
    assert result.created == 1 and len(result.skipped) == 5
    assert any("100003" in line and "first_name" in line for line in result.skipped)
    assert "Secret" not in caplog.text and "Mallory" not in caplog.text
    with Session(counter) as session:
        assert session.scalar(select(Member.first_name).where(Member.server_id == 100003)) == victim_name


def test_a_future_updated_at_does_not_poison_the_high_water_mark(feed: Callable[[Pages], LoyaltyClient],
                                                                  counter: Engine) -> None:
    client = feed(lambda page, base: {"data": [user(930001, "2099-01-01 00:00:00")], "next_url": None})
    Puller(counter, client).pull_members()
    with Session(counter) as session:
        mark = session.get(SyncState, MEMBERS_HIGH_WATER)
        assert mark is not None
    moment = datetime.fromisoformat(mark.value).replace(tzinfo=timezone.utc)
    assert moment <= datetime.now(timezone.utc) + timedelta(minutes=11)
