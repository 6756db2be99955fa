"""The sync engine: one loop that probes the server, drains the outbox and pulls, and reports a `SyncStatus`.

Qt-free. `frontdesk.ui.sync_status.SyncController` runs `run_forever` on a worker thread and turns the status
callbacks into signals. Everything the GUI may ask for (refresh a member, list entries, retry, discard) is a plain
method that does its own I/O, to be called off the GUI thread.

    engine = build_engine(settings)                  # API key from the OS keyring (frontdesk.secrets)
    engine.run_forever(stop_event, on_status=print)  # until stop_event is set
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.sales.outcomes import resolve_identity
from frontdesk.store.db import make_read_engine, open_database
from frontdesk.store.models import Member, OutboxEntry, Sale
from frontdesk.store.writer import DatabaseExecutor
from sync.client import ApiConfig, LoyaltyClient
from sync.errors import ApiError, AuthError, BadResponse, NetworkError, RateLimited, ServerError, summarise
from sync.outbox import (
    OutboxWorker,
    WorkerOptions,
    discard_entry,
    mark_applied,
    retry_entry,
    send_without_refused_part,
)
from sync.pull import MemberRefresh, Puller, PullError
from sync.status import NOT_CONFIGURED, OFFLINE, Connectivity, SyncStatus, read_queue_stats

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class EngineOptions:
    probe_interval: float = 15.0  # seconds between probes while nothing else proves the server is there
    failures_to_offline: int = 3  # consecutive failed probes/deliveries before showing "Offline"
    programme_interval: float = 900.0
    members_interval: float = 300.0
    status_interval: float = 5.0  # how often the queue figures are re-read for the status bar
    worker: WorkerOptions = field(default_factory=WorkerOptions)


@dataclass(frozen=True)
class EntryView:
    """One row of the sync panel."""

    id: int
    kind: str
    status: str  # pending | in_doubt | parked
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    member_name: str
    receipt_no: str | None
    total_minor: int | None
    currency: str | None
    waiting_behind: int | None  # id of the parked/retrying entry this one waits for (same member), if any
    hold_reason: str | None = None  # why it waits, in words ("waits for the sale of receipt R-1 ...")
    refused_part: str | None = None  # "points": can be sent without the refused points payment
    was_in_doubt: bool = False  # parked while in doubt: "Mark applied" is offered
    member_id: int | None = None
    member_conflict: bool = False  # the server refused this member's identity (resolve it)

    @property
    def kind_label(self) -> str:
        return {"sale": "Sale", "void": "Void", "refund": "Refund", "enrol": "New member",
                "adjust": "Points adjustment", "redeem": "Redemption"}.get(self.kind, self.kind)


class SyncEngine:
    def __init__(self, db_engine: Engine, client: LoyaltyClient | None, *, region: str = "SG",
                 currency: str = "SGD", options: EngineOptions | None = None,
                 connectivity: Connectivity | None = None, db_executor: DatabaseExecutor | None = None) -> None:
        self.db = db_engine
        self.read_db = make_read_engine(db_engine.url.database or "")
        self.client = client
        self.options = options or EngineOptions()
        # Shared with the checkout (offline redemptions are capped), so the app makes it before either exists.
        self.connectivity = connectivity or Connectivity(self.options.failures_to_offline)
        # The process's one database executor (the app's task runner owns it); a private one otherwise.
        self._own_executor = db_executor is None
        self.db_executor = db_executor or DatabaseExecutor("sync-db")
        self.worker = (OutboxWorker(db_engine, client, options=self.options.worker, read_engine=self.read_db,
                                    db_executor=self.db_executor, region=region)
                       if client is not None else None)
        self.puller = Puller(db_engine, client, region=region, currency=currency,
                             db_executor=self.db_executor) if client is not None else None
        self._wake = threading.Event()
        self._last_probe = 0.0
        self._last_programme = 0.0
        self._last_members = 0.0
        self._last_error: str | None = None
        self._syncing = False
        self._status = SyncStatus(connectivity=NOT_CONFIGURED if client is None else "unknown")

    @property
    def configured(self) -> bool:
        return self.client is not None

    # --- the loop -------------------------------------------------------------------------------------------
    def wake(self) -> None:
        """New entries were queued, or a manager asked for a retry: do not wait for the timer."""
        self._wake.set()
        if self.worker is not None:
            self.worker.wake()

    def run_forever(self, stop_event: threading.Event,
                    on_status: Callable[[SyncStatus], None] | None = None) -> None:
        while not stop_event.is_set():
            try:
                pause = self.tick(on_status)
            except Exception:  # noqa: BLE001 - the sync thread must outlive a database or programming hiccup
                log.exception("sync tick failed")
                pause = self.options.probe_interval
            self._sleep(stop_event, pause, on_status)

    def _sleep(self, stop_event: threading.Event, seconds: float,
               on_status: Callable[[SyncStatus], None] | None) -> None:
        deadline = time.monotonic() + seconds
        next_status = time.monotonic() + self.options.status_interval
        while not stop_event.is_set():
            now = time.monotonic()
            if now >= deadline:
                return
            if self._wake.wait(timeout=min(deadline, next_status) - now):
                self._wake.clear()
                return
            if time.monotonic() >= next_status and on_status is not None:
                # The age of the oldest entry grows while we sleep; keep the status bar honest.
                on_status(self.status())
                next_status = time.monotonic() + self.options.status_interval

    def tick(self, on_status: Callable[[SyncStatus], None] | None = None) -> float:
        """One pass: probe if due, deliver what is due, pull if due. Returns seconds until the next pass."""
        if self.client is None or self.worker is None:
            self._publish(on_status)
            return self.options.status_interval
        now = time.monotonic()
        if self.connectivity.state != "online" or now - self._last_probe >= self.options.probe_interval \
                or self.connectivity.auth_problem:
            self.probe()
        if self.connectivity.state == OFFLINE or self.connectivity.auth_problem:
            self._publish(on_status)
            return self.options.probe_interval
        self._syncing = True
        self._publish(on_status)
        try:
            report = self.worker.run_once()
        finally:
            self._syncing = False
        if report.auth_error:
            self.connectivity.record_auth_failure(report.auth_error)
        elif report.network_error and not report.delivered:
            self.connectivity.record_failure(report.network_error)
        elif report.delivered or report.parked:
            self.connectivity.record_success()
        if report.last_error:
            self._last_error = report.last_error
        elif report.delivered:
            self._last_error = None
        if self.connectivity.state == "online" and not self.connectivity.auth_problem:
            self._pull_if_due()
        self._publish(on_status)
        return self.worker.seconds_until_next_run(report)

    def probe(self) -> bool:
        """A cheap authenticated request; feeds the online/offline decision. True when the server answered."""
        if self.client is None:
            return False
        self._last_probe = time.monotonic()
        try:
            latency = self.client.probe()
        except AuthError as error:
            self.connectivity.record_auth_failure(summarise(error))
            return True
        except (NetworkError, BadResponse, ServerError, RateLimited) as error:
            self.connectivity.record_failure(summarise(error))
            return False
        except ApiError as error:
            # The server answered (e.g. 404 on a server without the probe path): it is reachable.
            log.info("probe answered with %s", summarise(error))
            latency = None
        came_back = self.connectivity.record_success(latency)
        if came_back and self.worker is not None:
            self.worker.failed_runs = 0
            self.worker.wake()
        return True

    def _pull_if_due(self) -> None:
        assert self.puller is not None
        now = time.monotonic()
        if now - self._last_programme >= self.options.programme_interval:
            self._last_programme = now
            try:
                self.puller.pull_programme()
            except (ApiError, PullError) as error:
                log.warning("programme pull failed: %s", summarise(error))
        if now - self._last_members >= self.options.members_interval:
            self._last_members = now
            try:
                result = self.puller.pull_members()
                if result.created or result.updated:
                    log.info("member pull: %s new, %s updated", result.created, result.updated)
            except ApiError as error:
                log.warning("member pull failed: %s", summarise(error))

    def _publish(self, on_status: Callable[[SyncStatus], None] | None) -> None:
        status = self.status()
        if on_status is not None:
            on_status(status)

    # --- what the GUI asks for (call off the GUI thread) ----------------------------------------------------
    def status(self) -> SyncStatus:
        stats = read_queue_stats(self.read_db)
        if self.client is None:
            base = SyncStatus(connectivity=NOT_CONFIGURED)
        else:
            paused = self.worker._not_before if self.worker is not None else None
            base = SyncStatus(connectivity=self.connectivity.state, auth_problem=self.connectivity.auth_problem,
                              last_error=self._last_error or self.connectivity.last_failure,
                              last_success_at=self.connectivity.last_success_at, syncing=self._syncing,
                              paused_until=paused if paused and paused > utc_now() else None)
        status = replace(base.with_queue(stats), checked_at=utc_now())
        self._status = status
        return status

    def refresh_member(self, member_id: int) -> MemberRefresh | None:
        """Refresh one member from the server on lookup; None when offline or not configured."""
        if self.puller is None or self.connectivity.state == OFFLINE:
            return None
        try:
            result = self.puller.refresh_member(member_id)
        except (NetworkError, BadResponse, ServerError) as error:
            self.connectivity.record_failure(summarise(error))
            return None
        except AuthError as error:
            self.connectivity.record_auth_failure(summarise(error))
            return None
        except ApiError as error:
            log.warning("member refresh failed: %s", summarise(error))
            return None
        self.connectivity.record_success()
        return result

    def entries(self, limit: int = 500) -> list[EntryView]:
        """Queued, in-doubt and parked entries, oldest first, with what each one waits for and why."""
        with Session(self.read_db) as session:
            rows = session.execute(
                select(OutboxEntry, Sale.receipt_no, Sale.total_minor, Sale.currency, Sale.original_sale_id,
                       Member.display_name, Member.first_name, Member.last_name, Member.status)
                .outerjoin(Sale, Sale.id == OutboxEntry.sale_id)
                .outerjoin(Member, Member.id == OutboxEntry.member_id)
                .where(OutboxEntry.status.in_(("pending", "in_doubt", "parked")))
                .order_by(OutboxEntry.id).limit(limit)
            ).all()
            originals = {sale_id: (entry_id, status, receipt) for sale_id, entry_id, status, receipt in session.execute(
                select(OutboxEntry.sale_id, OutboxEntry.id, OutboxEntry.status, Sale.receipt_no)
                .join(Sale, Sale.id == OutboxEntry.sale_id)
                .where(OutboxEntry.kind == "sale",
                       OutboxEntry.sale_id.in_({row[4] for row in rows if row[4] is not None})))}
        blocker: dict[str, int] = {}
        enrol_parked: dict[int, int] = {}
        views: list[EntryView] = []
        now = utc_now()
        for entry, receipt_no, total, currency, original_id, display, first, last, member_status in rows:
            key = entry.partition_key or f"entry:{entry.id}"
            waiting: int | None = None
            reason: str | None = None
            conflict = member_status == "conflict"
            if entry.status != "parked":
                original = originals.get(original_id) if original_id is not None else None
                if original is not None and original[1] != "done":
                    waiting, reason = original[0], f"waits for its sale (receipt {original[2]}) to reach the server"
                elif conflict and entry.kind != "enrol":
                    waiting = enrol_parked.get(entry.member_id or 0)
                    reason = "waits until a manager resolves the member's identity"
                elif key in blocker:
                    waiting, reason = blocker[key], "waits for the member's earlier effect (retrying)"
            if entry.status != "parked" and entry.next_attempt_at is not None and entry.next_attempt_at > now:
                blocker.setdefault(key, entry.id)
            if entry.status == "parked" and entry.kind == "enrol" and entry.member_id is not None:
                enrol_parked[entry.member_id] = entry.id
            response = entry.response if isinstance(entry.response, dict) else {}
            views.append(EntryView(
                id=entry.id, kind=entry.kind, status=entry.status, created_at=entry.created_at,
                attempts=entry.attempts, next_attempt_at=entry.next_attempt_at, last_error=entry.last_error,
                member_name=(display or f"{first or ''} {last or ''}".strip() or "—"), receipt_no=receipt_no,
                total_minor=total, currency=currency, waiting_behind=waiting, hold_reason=reason,
                refused_part=response.get("refused_part"), was_in_doubt=bool(response.get("in_doubt")),
                member_id=entry.member_id, member_conflict=conflict))
        return views

    # --- manager actions (audited; run on the database executor) ----------------------------------------------
    def retry(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self.db_executor.call(lambda: retry_entry(self.db, entry_id, staff_id, note=note))
        self.wake()

    def discard(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self.db_executor.call(lambda: discard_entry(self.db, entry_id, staff_id, note=note))
        self.wake()

    def send_without_refused_part(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self.db_executor.call(lambda: send_without_refused_part(self.db, entry_id, staff_id, note=note))
        self.wake()

    def mark_applied(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self.db_executor.call(lambda: mark_applied(self.db, entry_id, staff_id, note=note))
        self.wake()

    def identity_candidates(self, member_id: int) -> list[tuple[int, str]]:
        """Members the server already knows by this member's phone or email: (member id, "name · phone")."""
        from frontdesk.domain import phone as phones

        with Session(self.read_db) as session:
            member = session.get(Member, member_id)
            if member is None:
                return []
            clauses = []
            if member.phone_e164:
                clauses.append(Member.phone_e164 == member.phone_e164)
            if member.email:
                clauses.append(Member.email == member.email)
            if not clauses:
                return []
            from sqlalchemy import or_

            rows = session.scalars(select(Member).where(or_(*clauses), Member.id != member_id,
                                                        Member.server_id.isnot(None))).all()
            return [(row.id, f"{row.display_name or (row.first_name + ' ' + row.last_name).strip()} · "
                             f"{phones.masked(row.phone_e164) if row.phone_e164 else row.email or ''}")
                    for row in rows]

    def resolve_identity(self, member_id: int, action: str, staff_id: int | None, **details: Any) -> None:
        def run() -> None:
            with self.db.begin() as conn:
                resolve_identity(conn, member_id, action, staff_id, **details)

        self.db_executor.call(run)
        self.wake()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
        if self.client is not None:
            self.client.close()
        if self._own_executor:
            self.db_executor.shutdown()
        self.read_db.dispose()


def options_from_settings(settings: Any) -> EngineOptions:
    interval = float(getattr(settings, "sync_interval_seconds", 15) or 15)
    return EngineOptions(probe_interval=interval,
                         worker=WorkerOptions(idle_interval=interval))


def build_engine(settings: Any, *, api_key: str | None = None, db_engine: Engine | None = None,
                 options: EngineOptions | None = None, connectivity: Connectivity | None = None,
                 db_executor: DatabaseExecutor | None = None) -> SyncEngine:
    """A `SyncEngine` for `frontdesk.config.Settings`. The key comes from the keyring unless given (demo).

    With no `api_url` configured, or no key to be found, the engine still reports the queue but sends nothing.
    """
    db = db_engine or open_database(settings.database_path)
    client: LoyaltyClient | None = None
    if settings.api_url:
        if api_key is None:
            from frontdesk.secrets import get_api_key

            api_key = get_api_key(settings.api_key_name)
        if api_key:
            client = LoyaltyClient(ApiConfig(base_url=settings.api_url, api_key=api_key,
                                             verify_tls=settings.verify_tls,
                                             paths=dict(getattr(settings, "api_paths", {}) or {})))
        else:
            log.warning("an API URL is configured but no API key was found (keyring entry %r or FRONTDESK_API_KEY);"
                        " sync is off", settings.api_key_name)
    return SyncEngine(db, client, region=settings.phone_region, currency=settings.currency,
                      options=options or options_from_settings(settings), connectivity=connectivity,
                      db_executor=db_executor)
