"""Delivering the outbox to the loyalty API: exactly once on the documented contract, resuming after any crash.

The checkout writes each effect (sale, void, refund, enrolment, point adjustment) as an `outbox` row in the same
transaction as the sale itself; the row says what happened in the counter's terms, and `sync.eber.effects` builds
the wire requests from the database when it is sent. This worker delivers them and reports each outcome as a
`frontdesk.sales.outcomes.Delivery`, which frontdesk code applies to the sale, ledger, vouchers and member (this
module writes only the outbox's own columns). Its rules:

- Proof. Delivery is proven by the answer's success shape (`sync.eber.answers`), never by a 2xx status.
- In doubt. A request that may have reached the server without a usable answer (lost answer, 5xx, a 2xx without
  the success shape, the drainer killed mid-request) leaves the entry `in_doubt`. It is resolved by resending the
  same receipt number: a success means it had not been applied; a duplicate refusal means it had, and the server's
  record is then looked for (E5) and matched strictly (outlet, receipt, member, amount) to learn its id; when the
  listing cannot say, the sale is "applied, id unknown". A refusal of an entry in doubt parks it *in doubt*, never
  as rejected: "rejected" means the server refused that very request, and the manager sees its words.
- One drainer. A drain lock (an OS file lock beside the database) lets one drainer run at a time, across
  processes. Rows are claimed (`lease_owner`) in a committed write before they are sent; a claim found from
  another owner means that drainer died mid-request, so the row is in doubt.
- Order and narrow holds. One member's effects go strictly in order while they are pending; a parked entry holds
  only the effects that depend on it (its sale's void or refund; a member's effects behind a refused enrolment),
  and every other effect and member keeps flowing.
- Parts. A sale posts first (E1, which also deducts points paid with points, atomically), then its codes are
  redeemed (E2); a refused code does not sink the sale: it posts without it and the refusal is reported.
- Failures. Transient ones are retried with exponential backoff and full jitter; a 429 backs off the request that
  got it (honouring Retry-After) and cuts the number of parallel requests by a quarter, which grows back with
  successes; a run of 429s pauses everyone for as long as the server asked. An authentication failure pauses
  the worker without charging any entry.
- Threads. HTTP runs on one pool made once; every database read and write runs on the `DatabaseExecutor` handed
  in (the app's task runner owns it), or on a private one for command-line drains.

Qt-free: `run_once()` drains what is due and returns a report; `run_forever(stop_event)` loops until stopped.
"""
from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, TypeVar, cast

from filelock import FileLock, Timeout
from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.engine import Connection

from frontdesk.sales.outcomes import APPLIED, IN_DOUBT, REFUSED, Delivery, apply_deliveries, back_in_queue
from frontdesk.store.db import make_read_engine
from frontdesk.store.models import AuditEntry, Member, OutboxEntry, Sale, SaleRedemption
from frontdesk.store.writer import DatabaseExecutor
from sync.client import LoyaltyClient
from sync.eber import answers
from sync.eber.effects import Held, NaturalKey, Plan, Unsendable, adjust_reference, build_plan
from sync.errors import (
    ApiError,
    AuthError,
    ContractError,
    NetworkError,
    NotFound,
    RateLimited,
    ValidationError,
    summarise,
)

log = logging.getLogger(__name__)

OUTBOX = cast(Table, OutboxEntry.__table__)
SALES = cast(Table, Sale.__table__)
MEMBERS = cast(Table, Member.__table__)
AUDIT = cast(Table, AuditEntry.__table__)
REDEMPTIONS = cast(Table, SaleRedemption.__table__)

T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base × 2^(attempt−1))]."""

    base: float = 1.0
    cap: float = 300.0
    floor: float = 0.05  # never retry in a hot loop, however the dice fall

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(0, min(attempt - 1, 30))))
        return max(self.floor, rng.uniform(0.0, ceiling))


@dataclass(frozen=True)
class WorkerOptions:
    threads: int = 6
    run_length: int = 25  # consecutive entries of one partition handled by one task before it yields
    load_limit: int = 3000  # entries loaded per round
    commit_every: int = 200  # outcomes per commit ...
    commit_interval: float = 0.25  # ... or seconds, whichever comes first
    retry: RetryPolicy = RetryPolicy()
    idle_interval: float = 15.0  # run_forever: longest sleep when nothing is due
    offline_backoff: RetryPolicy = RetryPolicy(base=1.0, cap=60.0)  # run_forever, while unreachable
    auth_pause: float = 60.0  # run_forever: how long to wait after an authentication failure
    network_failures_to_stop: int = 3  # consecutive network failures in one run that end it
    lease_seconds: float = 300.0  # how long a claim is shown as current (informational; the drain lock decides)
    lookup_pages: int = 10  # E5 pages read, at most, to find a transaction whose answer was lost
    lookup_page_size: int = 100
    odd_listing_attempts: int = 8  # attempts after which an E5 answer of unknown shape means "the listing cannot tell"
    rate_limit_streak: int = 0  # consecutive 429s that pause everyone (0: twice the threads)


@dataclass
class Entry:
    """An outbox row as the worker needs it (plain data, safe to hand to a pool thread)."""

    id: int
    idempotency_key: str
    kind: str
    partition_key: str
    sale_id: int | None
    member_id: int | None
    payload: dict[str, Any]
    attempts: int
    status: str  # pending | in_doubt
    response: Any
    created_at: datetime | None = None
    plan: Plan | None = None
    anchor_transaction_id: int | None = None  # newest server id known for the member (E5 search floor)

    @property
    def in_doubt(self) -> bool:
        return self.status == "in_doubt"

    def progress(self) -> dict[str, Any]:
        if isinstance(self.response, dict) and isinstance(self.response.get("progress"), dict):
            return dict(self.response["progress"])
        return {}


@dataclass
class Outcome:
    entry: Entry
    result: str  # done | retry | in_doubt | park | auth
    delivery: Delivery | None = None
    answer: dict[str, Any] | None = None
    error: str | None = None
    retry_after: float | None = None
    network: bool = False
    progress: dict[str, Any] = field(default_factory=dict)
    duplicate_resolved: bool = False
    refused_part: str | None = None  # "points": the points payment was refused (send without it)


@dataclass
class DrainReport:
    delivered: int = 0
    duplicates_resolved: int = 0
    retried: int = 0
    in_doubt: int = 0
    parked: int = 0
    rate_limited: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    auth_error: str | None = None
    network_error: str | None = None
    rate_limited_until: datetime | None = None
    busy: str | None = None  # another drainer holds the outbox
    elapsed: float = 0.0
    last_error: str | None = None

    @property
    def attempted(self) -> int:
        return self.delivered + self.retried + self.in_doubt + self.parked

    def merge(self, other: DrainReport) -> None:
        self.delivered += other.delivered
        self.duplicates_resolved += other.duplicates_resolved
        self.retried += other.retried
        self.in_doubt += other.in_doubt
        self.parked += other.parked
        self.rate_limited += other.rate_limited
        for kind, count in other.by_kind.items():
            self.by_kind[kind] += count
        self.auth_error = other.auth_error or self.auth_error
        self.network_error = other.network_error
        self.rate_limited_until = other.rate_limited_until or self.rate_limited_until
        self.last_error = other.last_error or self.last_error
        self.elapsed += other.elapsed

    def summary(self) -> str:
        parts = [f"{self.delivered} delivered"]
        if self.duplicates_resolved:
            parts.append(f"{self.duplicates_resolved} already on the server")
        if self.retried:
            parts.append(f"{self.retried} to retry")
        if self.in_doubt:
            parts.append(f"{self.in_doubt} in doubt (answer lost; will be resent)")
        if self.parked:
            parts.append(f"{self.parked} need attention")
        text = ", ".join(parts) + f" in {self.elapsed:.1f} s"
        if self.busy:
            text += f"; {self.busy}"
        if self.auth_error:
            text += f"; API key refused: {self.auth_error}"
        elif self.network_error:
            text += f"; server unreachable: {self.network_error}"
        return text


class Conflict(ValidationError):
    """The server holds this receipt for another sale (member or amount differ): a manager must decide."""


class PartRefused(ValidationError):
    """The sale itself is acceptable but one part of it (the points payment) was refused."""


class OutboxWorker:
    """Delivers due outbox entries. One instance per database and process; `run_once` from one thread at a time."""

    def __init__(self, engine: Engine, client: LoyaltyClient, *, options: WorkerOptions | None = None,
                 read_engine: Engine | None = None, clock: Callable[[], datetime] = utc_now,
                 rng: random.Random | None = None,
                 on_progress: Callable[[DrainReport], None] | None = None,
                 db_executor: DatabaseExecutor | None = None, region: str = "SG") -> None:
        self.engine = engine
        database = engine.url.database or ""
        self.read_engine = read_engine or make_read_engine(database)
        self.client = client
        self.options = options or WorkerOptions()
        self.clock = clock
        self.rng = rng or random.Random()
        self.region = region
        self._rng_lock = threading.Lock()
        self.on_progress = on_progress
        self.owner = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._own_db = db_executor is None
        self.db = db_executor or DatabaseExecutor("outbox-db")
        self._pool: ThreadPoolExecutor | None = None
        self._drain_lock = FileLock(str(Path(database).with_name(Path(database).name + ".drain.lock"))) \
            if database else None
        self._not_before: datetime | None = None  # a run of 429s: nobody sends before this
        self._halt = threading.Event()  # auth failure or too many network failures: stop the current run
        self._halt_reason: tuple[str, str] | None = None
        self._network_streak = 0
        self._rate_streak = 0
        self._rate_until: datetime | None = None  # the latest Retry-After of this run (reported)
        self._streak_lock = threading.Lock()
        self._concurrency = float(max(1, self.options.threads))
        self.paused_reason: str | None = None  # authentication problem, shown to the user
        self.failed_runs = 0  # consecutive runs that reached nobody (run_forever's offline backoff)
        self._force_seen: set[int] | None = None
        self._listing_understood = False  # E5 has answered in its known shape: later odd answers are passing faults
        self._wake = threading.Event()
        self._closed = False

    # --- public ---------------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Something new was queued (or a manager pressed Retry): run without waiting for the timer."""
        self._wake.set()

    def close(self) -> None:
        """Stop the HTTP pool and (when it is ours) the database executor."""
        self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._own_db:
            self.db.shutdown()
        self.read_engine.dispose()

    def _http_pool(self) -> ThreadPoolExecutor:
        # Made once and kept: threads and their keep-alive connections outlive a run.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=max(1, self.options.threads), thread_name_prefix="outbox")
        return self._pool

    def _on_db(self, fn: Callable[[], T]) -> T:
        return self.db.call(fn)

    def run_once(self, max_seconds: float | None = None, *, force: bool = False) -> DrainReport:
        """Deliver every entry that is due now (and whatever becomes due while doing so); return what happened.

        `force` ("sync now"): entries waiting out a backoff are tried too, each at most once in this run.
        """
        started = time.perf_counter()
        report = DrainReport()
        if self._drain_lock is not None:
            try:
                self._drain_lock.acquire(timeout=0)
            except Timeout:
                report.busy = "another Front Desk process is delivering this counter's queue"
                report.elapsed = time.perf_counter() - started
                return report
        try:
            return self._run(report, started, max_seconds, force)
        finally:
            if self._drain_lock is not None:
                self._drain_lock.release()

    def _run(self, report: DrainReport, started: float, max_seconds: float | None, force: bool) -> DrainReport:
        self._halt.clear()
        self._halt_reason = None
        self._network_streak = 0
        self._rate_until = None
        now = self.clock()
        if self._not_before is not None and now < self._not_before:
            report.rate_limited_until = self._not_before
            report.elapsed = time.perf_counter() - started
            return report
        self._on_db(self._recover_claims)
        self._force_seen = set() if force else None
        reached_server = False
        while not self._halt.is_set():
            runs, settled = self._on_db(self._load_and_claim)
            round_report = DrainReport()
            if settled:
                self._commit(settled, round_report)
            if not runs and not settled:
                break
            if runs:
                self._deliver_runs(runs, round_report)
            reached_server = reached_server or round_report.delivered > 0 or round_report.parked > 0
            report.merge(round_report)
            if self.on_progress is not None:
                self.on_progress(report)
            if round_report.attempted == 0:
                break
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
        if self._halt_reason is not None:
            kind, message = self._halt_reason
            if kind == "auth":
                report.auth_error = message
            elif kind == "network":
                report.network_error = message
            elif kind == "rate":
                report.rate_limited_until = self._not_before
        if report.rate_limited and report.rate_limited_until is None:
            report.rate_limited_until = self._rate_until
        if report.auth_error:
            self.paused_reason = report.auth_error
        elif reached_server:
            self.paused_reason = None
        if report.network_error and not reached_server:
            self.failed_runs += 1
        elif reached_server or report.attempted:
            self.failed_runs = 0
        report.elapsed = time.perf_counter() - started
        self._force_seen = None
        return report

    def next_due_at(self) -> datetime | None:
        """When the earliest waiting entry becomes due (None: nothing pending)."""
        now = self.clock()

        def scan() -> tuple[dict[str, list[int]], datetime | None]:
            with self.read_engine.connect() as conn:
                return self._scan(conn, now, remember=False)

        chosen, next_due = self._on_db(scan)
        return now if chosen else next_due

    def seconds_until_next_run(self, report: DrainReport | None = None) -> float:
        """How long run_forever should sleep after a run (woken early by `wake()`)."""
        now = self.clock()
        if report is not None and report.auth_error:
            return self.options.auth_pause
        if self._not_before is not None and now < self._not_before:
            return (self._not_before - now).total_seconds()
        if self.failed_runs:
            return self.options.offline_backoff.delay(self.failed_runs, self.rng)
        due = self.next_due_at()
        if due is None:
            return self.options.idle_interval
        return max(0.0, min(self.options.idle_interval, (due - now).total_seconds()))

    def run_forever(self, stop_event: threading.Event,
                    on_report: Callable[[DrainReport], None] | None = None) -> None:
        """Deliver until `stop_event` is set; sleeps between runs, woken early by `wake()` or `stop_event`."""
        while not stop_event.is_set():
            try:
                report = self.run_once()
            except Exception:  # noqa: BLE001 - a database hiccup must not kill the sync thread for the day
                log.exception("outbox run failed; trying again shortly")
                pause = self.options.offline_backoff.delay(1, self.rng)
            else:
                if on_report is not None:
                    on_report(report)
                pause = self.seconds_until_next_run(report)
            self._wait(stop_event, pause)

    def _wait(self, stop_event: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, seconds)
        while not stop_event.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(timeout=min(left, 0.25)):
                self._wake.clear()
                if self.paused_reason is None:
                    self.failed_runs = 0
                return

    # --- claims ---------------------------------------------------------------------------------------------
    def _recover_claims(self) -> None:
        """Rows claimed by a drainer that is gone (we hold the drain lock) may have been sent: they are in doubt."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.sale_id, OUTBOX.c.member_id)
                                .where(OUTBOX.c.lease_owner.isnot(None),
                                       OUTBOX.c.status.in_(("pending", "in_doubt")))).all()
            if not rows:
                conn.execute(update(OUTBOX).where(OUTBOX.c.lease_owner.isnot(None))
                             .values(lease_owner=None, lease_until=None))
                return
            conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_([r.id for r in rows])).values(
                status="in_doubt", lease_owner=None, lease_until=None,
                last_error="the sending process stopped mid-request; the answer is unknown"))
            conn.execute(update(OUTBOX).where(OUTBOX.c.lease_owner.isnot(None))
                         .values(lease_owner=None, lease_until=None))
            apply_deliveries(conn, [Delivery(r.kind, IN_DOUBT, sale_id=r.sale_id, member_id=r.member_id,
                                             reason="the answer was lost when sync stopped; it will be resent")
                                    for r in rows], now=self.clock())
        log.warning("%d outbox entries were in flight when their drainer stopped; they are in doubt", len(rows))

    def _load_and_claim(self) -> tuple[list[list[Entry]], list[Outcome]]:
        """For each partition, the due entries with their requests built; claimed in a committed write."""
        now = self.clock()
        settled: list[Outcome] = []
        runs: list[list[Entry]] = []
        with self.engine.begin() as conn:
            chosen, _next_due = self._scan(conn, now)
            if not chosen:
                return [], []
            all_ids = [entry_id for ids in chosen.values() for entry_id in ids]
            rows: dict[int, Any] = {}
            for start in range(0, len(all_ids), 500):
                chunk = all_ids[start:start + 500]
                for row in conn.execute(select(OUTBOX).where(OUTBOX.c.id.in_(chunk))):
                    rows[row.id] = row
            anchors = self._anchors(conn, {row.member_id for row in rows.values() if row.member_id is not None})
            claimed: list[int] = []
            for key, ids in chosen.items():
                run: list[Entry] = []
                for entry_id in ids:
                    found = rows.get(entry_id)
                    if found is None or found.status not in ("pending", "in_doubt"):
                        break
                    row = found
                    payload = row.payload if isinstance(row.payload, dict) else {}
                    entry = Entry(id=row.id, idempotency_key=row.idempotency_key, kind=row.kind,
                                  partition_key=key, sale_id=row.sale_id, member_id=row.member_id,
                                  payload=payload, attempts=row.attempts, status=row.status,
                                  response=row.response, created_at=row.created_at,
                                  anchor_transaction_id=anchors.get(row.member_id))
                    try:
                        entry.plan = build_plan(conn, row, self.region)
                    except Held:
                        continue  # waits for what it depends on; the member's other effects go on
                    except Unsendable as problem:
                        settled.append(self._refusal(entry, str(problem), entry.progress()))
                        continue
                    except (KeyError, TypeError, ValueError, AttributeError) as error:
                        settled.append(self._refusal(
                            entry, f"cannot send this entry: {type(error).__name__}: {error}", entry.progress()))
                        continue
                    run.append(entry)
                    claimed.append(entry.id)
                if run:
                    runs.append(run)
            if claimed:
                until = now + timedelta(seconds=self.options.lease_seconds)
                for start in range(0, len(claimed), 500):
                    conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(claimed[start:start + 500]))
                                 .values(lease_owner=self.owner, lease_until=until))
        return runs, settled

    @staticmethod
    def _anchors(conn: Connection, member_ids: set[int]) -> dict[int, int]:
        """Per member, the newest server transaction id the counter knows (an E5 search need not look older)."""
        found: dict[int, int] = {}
        if not member_ids:
            return found
        for member_id, tx in conn.execute(select(SALES.c.member_id, SALES.c.server_transaction_id).where(
                SALES.c.member_id.in_(member_ids), SALES.c.server_transaction_id.isnot(None))):
            if tx is not None and str(tx).isdigit():
                found[member_id] = max(found.get(member_id, 0), int(tx))
        return found

    def _scan(self, conn: Connection, now: datetime, *,
              remember: bool = True) -> tuple[dict[str, list[int]], datetime | None]:
        """Due entries per partition (in order) and when the earliest waiting one is due.

        A partition stops at an entry waiting out a backoff (order is kept while things are transient); a parked
        entry does not stop it (what depends on it is held when its requests are built).
        """
        heads = conn.execute(
            select(OUTBOX.c.id, OUTBOX.c.partition_key, OUTBOX.c.status, OUTBOX.c.next_attempt_at)
            .where(OUTBOX.c.status.in_(("pending", "in_doubt")))
            .order_by(OUTBOX.c.id)
        ).all()
        chosen: dict[str, list[int]] = {}
        blocked: set[str] = set()
        next_due: datetime | None = None
        total = 0
        forced = self._force_seen
        for entry_id, partition, _status, next_at in heads:
            key = partition or f"entry:{entry_id}"
            if key in blocked:
                continue
            if forced is not None and entry_id in forced:
                blocked.add(key)
                continue
            if next_at is not None and next_at > now and forced is None:
                blocked.add(key)
                if next_due is None or next_at < next_due:
                    next_due = next_at
                continue
            ids = chosen.setdefault(key, [])
            if len(ids) >= self.options.run_length or total >= self.options.load_limit:
                blocked.add(key)
                continue
            ids.append(entry_id)
            total += 1
        if forced is not None and remember:
            forced.update(entry_id for ids in chosen.values() for entry_id in ids)
        return {key: ids for key, ids in chosen.items() if ids}, next_due

    # --- delivering -----------------------------------------------------------------------------------------
    def _deliver_runs(self, runs: list[list[Entry]], report: DrainReport) -> None:
        """Send the runs on the pool; commit outcomes as they arrive, in batches (not per entry, not per run)."""
        pool = self._http_pool()
        arrived: SimpleQueue[Outcome] = SimpleQueue()
        pending: list[Outcome] = []
        last_commit = time.perf_counter()
        queue = list(runs)
        in_flight: set[Future[None]] = set()
        while queue or in_flight:
            limit = max(1, int(self._concurrency))
            while queue and len(in_flight) < limit and not self._halt.is_set():
                in_flight.add(pool.submit(self._deliver_run, queue.pop(0), arrived))
            if not in_flight:
                break
            done, in_flight = wait(in_flight, timeout=self.options.commit_interval / 2,
                                   return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # a programming error in a task surfaces here, not silently
            while True:
                try:
                    pending.append(arrived.get_nowait())
                except Empty:
                    break
            if pending and (len(pending) >= self.options.commit_every or not in_flight
                            or time.perf_counter() - last_commit >= self.options.commit_interval):
                self._commit(pending, report)
                pending = []
                last_commit = time.perf_counter()
        while True:
            try:
                pending.append(arrived.get_nowait())
            except Empty:
                break
        # Runs never started (halted) keep their claims released below, untouched otherwise.
        unsent = [entry.id for run in queue for entry in run]
        if pending:
            self._commit(pending, report)
        if unsent:
            self._on_db(lambda: self._release(unsent))

    def _release(self, ids: list[int]) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids), OUTBOX.c.lease_owner == self.owner)
                         .values(lease_owner=None, lease_until=None))

    def _deliver_run(self, run: list[Entry], arrived: SimpleQueue[Outcome]) -> None:
        """One partition's due entries, strictly in order, stopping at the first that is not delivered."""
        sent: list[int] = []
        for entry in run:
            if self._halt.is_set():
                break
            outcome = self._deliver(entry)
            arrived.put(outcome)
            sent.append(entry.id)
            if outcome.result != "done":
                break
        rest = [entry.id for entry in run if entry.id not in sent]
        if rest:
            self._on_db(lambda: self._release(rest))

    def _deliver(self, entry: Entry) -> Outcome:
        progress = entry.progress()
        handler = {
            "sale": self._send_sale,
            "void": self._send_void,
            "refund": self._send_adjust,
            "adjust": self._send_adjust,
            "enrol": self._send_enrol,
        }.get(entry.kind, self._send_post)
        try:
            outcome = handler(entry, progress)
            self._note_network(ok=True)
            self._note_rate(limited=False)
            return outcome
        except AuthError as error:
            self._stop_all("auth", summarise(error))
            return Outcome(entry, "auth", error=summarise(error), progress=progress)
        except RateLimited as error:
            return self._rate_limited(entry, error, progress)
        except PartRefused as error:
            return self._refusal(entry, summarise(error), progress, refused_part="points")
        except (ValidationError, NotFound) as error:
            return self._refusal(entry, summarise(error), progress)
        except ApiError as error:
            network = isinstance(error, NetworkError)
            if network:
                self._note_network(ok=False, message=summarise(error))
            if error.may_have_applied:
                return Outcome(entry, "in_doubt", error=summarise(error), network=network, progress=progress,
                               delivery=Delivery(entry.kind, IN_DOUBT, sale_id=entry.sale_id,
                                                 member_id=entry.member_id, reason=summarise(error)))
            return Outcome(entry, "retry", error=summarise(error), network=network, progress=progress)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            # A payload this version cannot read: retrying will not help, a person must look at it.
            log.exception("outbox entry %s has a payload that cannot be sent", entry.id)
            return self._refusal(entry, f"cannot send this entry: {type(error).__name__}: {error}", progress)

    def _refusal(self, entry: Entry, reason: str, progress: dict[str, Any], *,
                 refused_part: str | None = None) -> Outcome:
        """Park. An entry in doubt stays in doubt (the server may hold it); otherwise the server refused it."""
        result = IN_DOUBT if entry.in_doubt else REFUSED
        identity = entry.kind == "enrol" and any(word in reason for word in ("phone", "email")) and \
            "taken" in reason
        return Outcome(entry, "park", error=reason, progress=progress, refused_part=refused_part,
                       delivery=Delivery(entry.kind, result, sale_id=entry.sale_id, member_id=entry.member_id,
                                         reason=reason, identity_refused=identity))

    def _rate_limited(self, entry: Entry, error: RateLimited, progress: dict[str, Any]) -> Outcome:
        wait_for = error.retry_after if error.retry_after is not None else self.options.retry.base
        with self._streak_lock:
            # Fewer requests in parallel (by a quarter), growing back by one per "window" of successes: the drain
            # slows down under 429s instead of stopping, and other members keep flowing.
            self._concurrency = max(1.0, self._concurrency * 0.75)
            self._rate_streak += 1
            streak = self._rate_streak
        until = self.clock() + timedelta(seconds=wait_for)
        with self._streak_lock:
            if self._rate_until is None or until > self._rate_until:
                self._rate_until = until
        limit = self.options.rate_limit_streak or 2 * max(1, self.options.threads)
        if streak >= limit:
            # The server keeps saying "too many": everyone waits as long as it asked.
            if self._not_before is None or until > self._not_before:
                self._not_before = until
            self._stop_all("rate", summarise(error))
        return Outcome(entry, "retry", error=summarise(error), retry_after=wait_for, progress=progress)

    def _stop_all(self, kind: str, message: str) -> None:
        if self._halt_reason is None or kind == "auth":
            self._halt_reason = (kind, message)
        self._halt.set()

    def _note_network(self, *, ok: bool, message: str = "") -> None:
        with self._streak_lock:
            if ok:
                self._network_streak = 0
                return
            self._network_streak += 1
            if self._network_streak >= self.options.network_failures_to_stop:
                self._stop_all("network", message)

    def _note_rate(self, *, limited: bool) -> None:
        if limited:
            return
        with self._streak_lock:
            self._rate_streak = 0
            ceiling = float(max(1, self.options.threads))
            if self._concurrency < ceiling:
                self._concurrency = min(ceiling, self._concurrency + 1.0 / self._concurrency)

    # --- one entry per kind ---------------------------------------------------------------------------------
    def _send_sale(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        plan = entry.plan
        assert plan is not None and plan.issue is not None and plan.key is not None
        duplicate = False
        issued = progress.get("issued")
        if not isinstance(issued, dict):
            try:
                body = self.client.post("issue_point", plan.issue, idempotency_key=entry.idempotency_key)
                answer = answers.issue_point(body)
            except ValidationError as error:
                if "transaction_no" in error.fields:
                    answer = self._resolve_duplicate_sale(entry, plan.key, error)
                    duplicate = True
                elif "point_conversion_points" in error.fields and not entry.in_doubt:
                    reason = (f"points payment refused: {summarise(error)} (send without the refused part to "
                              f"post the sale, and settle the points with the customer)")
                    raise PartRefused(reason, {"point_conversion_points": [reason]}, status=error.status) from None
                else:
                    raise
            issued = {"transaction_id": answer.transaction_id, "points": answer.points, "balance": answer.balance,
                      "user_id": answer.user_id}
            progress["issued"] = issued
            if duplicate:
                progress["resolved_duplicate"] = True
        codes: dict[str, str] = dict(progress.get("codes") or {})
        balance = issued.get("balance")
        for code, form in plan.redeems:
            if code in codes:
                continue
            try:
                body = self.client.post("redeem", form, idempotency_key=f"{entry.idempotency_key}:redeem:{code}")
                answers.redeem(body, code)
                codes[code] = "applied"
                balance = None  # a catalogue reward changed the balance after E1's answer
            except (ValidationError, NotFound) as error:
                if (entry.in_doubt or duplicate) and isinstance(error, ValidationError) and \
                        _mentions(error, "redeem_code", "already been used"):
                    codes[code] = "applied"  # used by the earlier attempt whose answer was lost
                else:
                    codes[code] = "refused:" + summarise(error)
            progress["codes"] = codes
        refused = {code: state.split(":", 1)[1] for code, state in codes.items() if state.startswith("refused:")}
        applied = tuple(code for code, state in codes.items() if state == "applied")
        answer_record = {"transaction_id": issued.get("transaction_id"), "points": issued.get("points"),
                         "point_balance": issued.get("balance"), "user_id": issued.get("user_id"),
                         "codes": codes}
        if progress.get("resolved_duplicate"):
            answer_record["resolved_duplicate"] = True
        if balance is None and (applied or refused):
            balance = self._balance(issued.get("user_id") or plan.identifier.get("user_id"))
        delivery = Delivery("sale", APPLIED, sale_id=entry.sale_id, member_id=entry.member_id,
                            server_transaction_id=issued.get("transaction_id"), server_points=issued.get("points"),
                            balance=balance, server_user_id=issued.get("user_id"), applied_codes=applied,
                            refused_codes=refused)
        return Outcome(entry, "done", delivery=delivery, answer=answer_record, progress=progress,
                       duplicate_resolved=bool(progress.get("resolved_duplicate")),
                       error="; ".join(f"{code}: {why}" for code, why in refused.items()) or None)

    def _balance(self, user_id: Any) -> int | None:
        if user_id is None:
            return None
        try:
            return answers.user(self.client.user_show(user_id=user_id, list_redeemable=False,
                                                      list_point_conversion=False)).balance
        except (ApiError, ContractError):
            return None  # the next member refresh brings it

    def _resolve_duplicate_sale(self, entry: Entry, key: NaturalKey, error: ValidationError) -> answers.PointsAnswer:
        """The server already holds this receipt number.

        In doubt (we may have sent it): a duplicate refusal means applied; the server's record is looked for to
        learn its id, and only a strict match (outlet, receipt, member, amount) is taken. Not in doubt: only a
        strict match is the same sale; anything else is a conflict for a manager.
        """
        user_id = key.user_id if key.user_id is not None else self._server_id_for(entry)
        match, other = self._find_sale_record(key, user_id, entry.anchor_transaction_id,
                                              retry_odd_answers=self._retry_odd_listing(entry))
        if match is not None:
            return answers.PointsAnswer(match.id, match.points, None, match.user_id)
        if other is not None:
            differs = []
            if other.user_id != user_id:
                differs.append("another member")
            if other.amount != key.amount:
                differs.append(f"a different amount ({other.amount}; this sale {key.amount})")
            raise Conflict(
                f"receipt {key.receipt} is already on the server for {' and '.join(differs) or 'another sale'}",
                {"transaction_no": [f"already used on the server by {' and '.join(differs) or 'another sale'}"]},
                status=error.status)
        if entry.in_doubt:
            return answers.PointsAnswer(None, None, None, user_id)  # applied, id unknown
        raise error

    def _server_id_for(self, entry: Entry) -> int | None:
        plan = entry.plan
        lookup = {k: v for k, v in (plan.identifier if plan else {}).items() if k in ("phone", "phone_code",
                                                                                        "email")}
        if not lookup:
            return None
        try:
            return answers.user(self.client.user_show(**lookup, list_redeemable=False,
                                                      list_point_conversion=False)).user_id
        except (ApiError, ContractError):
            return None

    def _find_sale_record(self, key: NaturalKey, user_id: int | None, anchor: int | None, *,
                          retry_odd_answers: bool = True
                          ) -> tuple[answers.TransactionRecord | None, answers.TransactionRecord | None]:
        """E5, bounded: (the strict match, or else a record of the same outlet and receipt that differs)."""
        other: answers.TransactionRecord | None = None
        for record in self._transactions(display_name=key.display_name or None, transaction_no=key.receipt,
                                         custom_store_id=key.store or None, floor=anchor,
                                         retry_odd_answers=retry_odd_answers):
            if record.transaction_no != key.receipt or record.type not in (None, "purchase"):
                continue
            if record.store is not None and key.store and record.store.casefold() != key.store.casefold():
                continue
            if record.user_id == user_id and user_id is not None and record.amount == key.amount:
                return record, None
            other = other or record
        if other is None and key.display_name:
            # The member's name may differ on the server; look once more without it.
            for record in self._transactions(transaction_no=key.receipt, custom_store_id=key.store or None,
                                             floor=anchor, retry_odd_answers=retry_odd_answers):
                if record.transaction_no == key.receipt and record.type in (None, "purchase") and (
                        record.store is None or not key.store or record.store.casefold() == key.store.casefold()):
                    if record.user_id == user_id and user_id is not None and record.amount == key.amount:
                        return record, None
                    other = other or record
        return None, other

    def _transactions(self, *, floor: int | None = None, state: dict[str, bool] | None = None,
                      retry_odd_answers: bool = True, **filters: Any) -> Iterable[answers.TransactionRecord]:
        """Rows of E5, page by page (bounded), stopping below `floor` when the listing is newest first.

        `state["ended"]` is set when the listing itself ended (no next page) rather than the bound."""
        seen_pages: set[tuple[str, ...]] = set()
        for page in range(1, self.options.lookup_pages + 1):
            try:
                body = self.client.point_transactions(page=page, limit=self.options.lookup_page_size, **filters)
                records, next_url = answers.transaction_rows(body)
                self._listing_understood = True
            except (NotFound, ValidationError):
                return  # the server does not offer the listing (the public API does not promise it)
            except ContractError:
                if retry_odd_answers:
                    raise  # maybe a passing fault: the entry stays in doubt and asks again later
                return  # an answer of a shape we do not know, again and again: the listing cannot tell
            signature = tuple(record.id for record in records)
            if signature in seen_pages:
                return
            seen_pages.add(signature)
            yield from records
            if not next_url or not records:
                if state is not None:
                    state["ended"] = True
                return
            ids = [int(record.id) for record in records]
            if floor is not None and ids == sorted(ids, reverse=True) and ids[-1] <= floor:
                return

    def _retry_odd_listing(self, entry: Entry) -> bool:
        """Is an E5 answer of unknown shape a passing fault (ask again later) rather than the listing's real shape?

        Once this server's listing has answered in the known shape, an odd answer is a passing fault, however
        often it repeats. Before that, a few attempts decide: a listing that never answers in a known shape
        cannot tell, and the entry goes to a manager rather than waiting forever.
        """
        return self._listing_understood or entry.attempts < self.options.odd_listing_attempts

    def _reference_applied(self, entry: Entry, reference: str) -> bool | None:
        """Was an adjustment with this reference applied? True/False when the listing can say, else None.

        Conclusive only when the listing is read back to a transaction older than the adjustment could be (the
        newest server transaction of the member the counter knew of before it), or to the listing's end.
        """
        floor = entry.anchor_transaction_id
        if entry.member_id is not None:
            member_id = entry.member_id
            floor = self._on_db(lambda: self._read_anchor(member_id)) or floor
        conclusive = False
        state: dict[str, bool] = {}
        seen = 0
        for record in self._transactions(transaction_no=reference, floor=floor, state=state,
                                         retry_odd_answers=self._retry_odd_listing(entry)):
            seen += 1
            if record.transaction_no == reference:
                return True
            if floor is not None and int(record.id) <= floor:
                conclusive = True
        ended = state.get("ended", False)
        if seen == 0 and not ended:
            return None
        return False if conclusive or ended else None

    def _read_anchor(self, member_id: int) -> int | None:
        with self.read_engine.connect() as conn:
            return self._anchors(conn, {member_id}).get(member_id)

    def _send_void(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        plan = entry.plan
        assert plan is not None
        balance: int | None = progress.get("balance")
        server_tx = progress.get("void_transaction_id")
        if plan.void_transaction_id and not progress.get("voided"):
            try:
                body = self.client.post("void_transaction", plan.void_form,
                                        query={"transaction_id": plan.void_transaction_id},
                                        idempotency_key=entry.idempotency_key)
                answer = answers.void_transaction(body)
                balance, server_tx = answer.balance, answer.transaction_id
            except ValidationError as error:
                if not _mentions(error, "transaction_id", "already been voided"):
                    raise
            progress["voided"] = True
            progress["balance"], progress["void_transaction_id"] = balance, server_tx
        if plan.adjust is not None and not progress.get("adjusted"):
            compensation = self._adjust(entry, plan.adjust, f"{entry.idempotency_key}:compensate")
            if compensation is not None:
                balance = compensation.balance if compensation.balance is not None else balance
                server_tx = server_tx or compensation.transaction_id
            progress["adjusted"] = True
            progress["balance"], progress["void_transaction_id"] = balance, server_tx
        restored = list(progress.get("vouchers", []))
        for code, form in plan.reward_voids:
            if code in restored:
                continue
            try:
                body = self.client.post("void_used_reward", form,
                                        idempotency_key=f"{entry.idempotency_key}:voucher:{code}")
                reward_balance = answers.reward_void(body)
                if reward_balance is not None:
                    balance = reward_balance
                else:
                    balance = None
            except ValidationError as error:
                if not _mentions(error, "redeem_code", "not been used"):
                    raise
            restored.append(code)
            progress["vouchers"] = restored
            progress["balance"] = balance
        delivery = Delivery("void", APPLIED, sale_id=entry.sale_id, member_id=entry.member_id,
                            server_transaction_id=server_tx, balance=balance, restored_codes=tuple(restored))
        return Outcome(entry, "done", delivery=delivery, progress=progress,
                       answer={"transaction_id": server_tx, "point_balance": balance, "vouchers": restored})

    def _adjust(self, entry: Entry, form: dict[str, Any], key: str) -> answers.PointsAnswer | None:
        """E11 once. In doubt, the adjustment's reference is looked for first (E11 has no natural key)."""
        if entry.in_doubt:
            applied = self._reference_applied(entry, str(form.get("transaction_no") or ""))
            if applied is True:
                return None
            if applied is None:
                raise InDoubtAdjustment(
                    "the answer to this points adjustment was lost and the server offers no way to tell whether "
                    "it was applied: check the member's points on the server, then Mark applied or Send again")
        body = self.client.post("point_adjust", form, idempotency_key=key)
        return answers.point_adjust(body)

    def _send_adjust(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        plan = entry.plan
        assert plan is not None and plan.adjust is not None
        answer = self._adjust(entry, plan.adjust, entry.idempotency_key)
        delivery = Delivery(entry.kind, APPLIED, sale_id=entry.sale_id, member_id=entry.member_id,
                            server_transaction_id=answer.transaction_id if answer else None,
                            balance=answer.balance if answer else None, ledger_entry_ids=plan.ledger_entry_ids)
        return Outcome(entry, "done", delivery=delivery, progress=progress,
                       answer={"transaction_id": answer.transaction_id if answer else None,
                               "point_balance": answer.balance if answer else None,
                               "reference": plan.adjust.get("transaction_no")})

    def _send_post(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        plan = entry.plan
        assert plan is not None
        if plan.post is None:
            raise Unsendable(f"unknown outbox entry kind “{entry.kind}”")
        endpoint, form = plan.post
        body = self.client.post(endpoint, form, idempotency_key=entry.idempotency_key)
        answers._status_true(body, endpoint)
        return Outcome(entry, "done", progress=progress, answer={"status": True},
                       delivery=Delivery(entry.kind, APPLIED, sale_id=entry.sale_id, member_id=entry.member_id,
                                         balance=answers.integer(body.get("point_balance"))))

    def _send_enrol(self, entry: Entry, progress: dict[str, Any]) -> Outcome:
        plan = entry.plan
        assert plan is not None and plan.enrol is not None
        params = plan.enrol
        try:
            user = answers.user(self.client.create_user(params, idempotency_key=entry.idempotency_key))
        except ValidationError as error:
            taken = [name for name in ("phone", "email", "external_member_id") if _mentions(error, name, "taken")]
            if not taken:
                raise
            existing = self._find_enrolled(params)
            if existing is None:
                raise
            user = existing
        delivery = Delivery("enrol", APPLIED, member_id=entry.member_id, server_user_id=user.user_id,
                            balance=user.balance)
        return Outcome(entry, "done", delivery=delivery, progress=progress,
                       answer={"id": user.user_id, "external_member_id": user.external_member_id})

    def _find_enrolled(self, params: dict[str, Any]) -> answers.UserAnswer | None:
        """The server already knows this phone/email: it is ours only if it carries our external member id."""
        external = params.get("external_member_id")
        if not external:
            return None
        lookups = []
        if params.get("phone"):
            lookups.append({"phone": params["phone"], "phone_code": params.get("phone_code")})
        if params.get("email"):
            lookups.append({"email": params["email"]})
        for lookup in lookups:
            try:
                user = answers.user(self.client.user_show(**lookup, list_redeemable=False,
                                                          list_point_conversion=False))
            except (NotFound, ContractError):
                continue
            if user.external_member_id == str(external):
                return user
        return None

    # --- committing -----------------------------------------------------------------------------------------
    def _commit(self, outcomes: list[Outcome], report: DrainReport) -> None:
        outcomes = sorted(outcomes, key=lambda outcome: outcome.entry.id)
        self._on_db(lambda: self._write_outcomes(outcomes))
        for outcome in outcomes:
            if outcome.result == "done":
                report.delivered += 1
                report.by_kind[outcome.entry.kind] += 1
                if outcome.duplicate_resolved:
                    report.duplicates_resolved += 1
            elif outcome.result == "retry":
                report.retried += 1
                if outcome.retry_after is not None:
                    report.rate_limited += 1
            elif outcome.result == "in_doubt":
                report.in_doubt += 1
            elif outcome.result == "park":
                report.parked += 1
                log.warning("outbox entry %s (%s) parked: %s", outcome.entry.id, outcome.entry.kind, outcome.error)
            if outcome.result != "done" and outcome.error:
                report.last_error = outcome.error

    def _write_outcomes(self, outcomes: list[Outcome]) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            for outcome in outcomes:
                self._write_outcome(conn, outcome, now)
            apply_deliveries(conn, [o.delivery for o in outcomes if o.delivery is not None], now=now)

    def _write_outcome(self, conn: Connection, outcome: Outcome, now: datetime) -> None:
        entry = outcome.entry
        row = OUTBOX.c
        common = {"lease_owner": None, "lease_until": None}
        saved: dict[str, Any] = {"progress": outcome.progress} if outcome.progress else {}
        if outcome.result == "done":
            conn.execute(update(OUTBOX).where(row.id == entry.id).values(
                status="done", attempts=row.attempts + 1, delivered_at=now, next_attempt_at=None,
                last_error=outcome.error, response=outcome.answer or {}, **common))
        elif outcome.result in ("retry", "in_doubt"):
            if outcome.retry_after is not None:
                delay = outcome.retry_after + self._uniform(0, min(1.0, outcome.retry_after * 0.1))
            else:
                delay = self._delay(entry.attempts + 1)
            status = "in_doubt" if outcome.result == "in_doubt" or entry.in_doubt else "pending"
            conn.execute(update(OUTBOX).where(row.id == entry.id).values(
                status=status, attempts=row.attempts + 1, next_attempt_at=now + timedelta(seconds=delay),
                last_error=outcome.error, response=saved, **common))
        elif outcome.result == "park":
            if entry.in_doubt:
                saved["in_doubt"] = True
            if outcome.refused_part:
                saved["refused_part"] = outcome.refused_part
            conn.execute(update(OUTBOX).where(row.id == entry.id).values(
                status="parked", attempts=row.attempts + 1, next_attempt_at=None, last_error=outcome.error,
                response=saved, **common))
        else:  # auth: nothing is charged to the entry
            conn.execute(update(OUTBOX).where(row.id == entry.id).values(
                response=saved if saved else (entry.response or {}), **common))

    def _delay(self, attempt: int) -> float:
        with self._rng_lock:
            return self.options.retry.delay(attempt, self.rng)

    def _uniform(self, low: float, high: float) -> float:
        with self._rng_lock:
            return self.rng.uniform(low, high)


class InDoubtAdjustment(ValidationError):
    """An adjustment whose answer was lost and whose fate the server cannot tell: a manager decides."""

    def __init__(self, message: str) -> None:
        super().__init__(message, {"adjustment": [message]})


# --- manager actions ---------------------------------------------------------------------------------------------
class EntryStateError(ValueError):
    """The entry is not in a state that allows the action (e.g. retrying one that was already delivered)."""


def _parked(conn: Connection, entry_id: int, action: str) -> Any:
    row = conn.execute(select(OUTBOX).where(OUTBOX.c.id == entry_id)).first()
    if row is None:
        raise EntryStateError(f"there is no sync entry {entry_id}")
    if row.status != "parked":
        raise EntryStateError(f"only entries that need attention can be {action} (this one is {row.status})")
    return row


def _was_in_doubt(row: Any) -> bool:
    return isinstance(row.response, dict) and bool(row.response.get("in_doubt"))


def retry_entry(engine: Engine, entry_id: int, staff_id: int | None, *, note: str = "") -> None:
    """Put a parked entry back in the queue (its sale and ledger rows become pending again); audited."""
    with engine.begin() as conn:
        row = _parked(conn, entry_id, "retried")
        in_doubt = _was_in_doubt(row)
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry_id).values(
            status="in_doubt" if in_doubt else "pending", next_attempt_at=None))
        if not in_doubt:
            back_in_queue(conn, row.sale_id)
        conn.execute(insert(AUDIT).values(
            occurred_at=utc_now(), staff_id=staff_id, action="sync.retry",
            details=_audit_details(conn, row, note)))


def send_without_refused_part(engine: Engine, entry_id: int, staff_id: int | None, *, note: str = "") -> None:
    """A sale whose points payment was refused: send it without it (the manager settles it with the customer)."""
    with engine.begin() as conn:
        row = _parked(conn, entry_id, "sent without the refused part")
        if not (isinstance(row.response, dict) and row.response.get("refused_part") == "points"):
            raise EntryStateError("this entry has no refused part to leave out")
        payload = dict(row.payload or {})
        payload["without_points_payment"] = True
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry_id).values(
            status="pending", next_attempt_at=None, payload=payload, response={}))
        if row.sale_id is not None:
            conn.execute(update(REDEMPTIONS).where(REDEMPTIONS.c.sale_id == row.sale_id,
                                                   REDEMPTIONS.c.kind == "points_money").values(
                status="refused", server_note=row.last_error or "points payment refused"))
            back_in_queue(conn, row.sale_id)
        conn.execute(insert(AUDIT).values(
            occurred_at=utc_now(), staff_id=staff_id, action="sync.send_without_part",
            details=_audit_details(conn, row, note)))


def mark_applied(engine: Engine, entry_id: int, staff_id: int | None, *, note: str = "") -> None:
    """A parked entry in doubt that a manager checked on the server and found applied: done, id unknown."""
    with engine.begin() as conn:
        row = _parked(conn, entry_id, "marked applied")
        if not _was_in_doubt(row):
            raise EntryStateError("only an entry whose answer was lost can be marked applied")
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry_id).values(
            status="done", delivered_at=utc_now(), next_attempt_at=None, response={"marked_applied": True}))
        ids = tuple(int(i) for i in (row.payload or {}).get("ledger_entry_ids") or [] if isinstance(i, int))
        apply_deliveries(conn, [Delivery(row.kind, APPLIED, sale_id=row.sale_id, member_id=row.member_id,
                                         ledger_entry_ids=ids)])
        conn.execute(insert(AUDIT).values(
            occurred_at=utc_now(), staff_id=staff_id, action="sync.mark_applied",
            details=_audit_details(conn, row, note)))


def discard_entry(engine: Engine, entry_id: int, staff_id: int | None, *, note: str = "") -> None:
    """Give up on a parked entry: it will never be sent; its sale stays as it is. Audited."""
    with engine.begin() as conn:
        row = _parked(conn, entry_id, "discarded")
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == entry_id).values(status="discarded", next_attempt_at=None))
        conn.execute(insert(AUDIT).values(
            occurred_at=utc_now(), staff_id=staff_id, action="sync.discard",
            details=_audit_details(conn, row, note)))


def _audit_details(conn: Connection, row: Any, note: str) -> dict[str, Any]:
    details: dict[str, Any] = {"outbox_id": row.id, "kind": row.kind, "partition": row.partition_key,
                               "idempotency_key": row.idempotency_key, "attempts": row.attempts,
                               "last_error": row.last_error}
    if row.sale_id is not None:
        sale = conn.execute(select(SALES.c.receipt_no, SALES.c.outlet_code, SALES.c.total_minor,
                                   SALES.c.currency).where(SALES.c.id == row.sale_id)).first()
        if sale is not None:
            details.update(sale_id=row.sale_id, receipt_no=sale.receipt_no, outlet=sale.outlet_code,
                           total_minor=sale.total_minor, currency=sale.currency)
    if row.member_id is not None:
        details["member_id"] = row.member_id
    if note:
        details["note"] = note
    return details


# --- small helpers -------------------------------------------------------------------------------------------
def _mentions(error: ValidationError, field_name: str, words: str) -> bool:
    return any(words in message.lower() for message in error.messages(field_name))


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (ArithmeticError, ValueError):
        return None


__all__ = [
    "DrainReport", "EntryStateError", "OutboxWorker", "RetryPolicy", "WorkerOptions", "adjust_reference",
    "discard_entry", "mark_applied", "retry_entry", "send_without_refused_part",
]
