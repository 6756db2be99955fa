"""A generated business day on a real demo database, written through the real checkout, reversal and adjustment
services, then settled the way the sync worker settles entries (delivered with the server's points, parked as
rejected, in doubt, discarded with a reason, or left pending).

The day is yesterday in the shop's zone, so every sale time is in the past; the services' clock stands at 23:00
that day, so voids and refunds land on the same day.
"""
from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from frontdesk.config import Settings
from frontdesk.counter import build_counter_services
from frontdesk.reports.day import DayScope, Home
from frontdesk.sales import LineInput, PaymentInput, RedemptionInput, SaleRequest, SalesService
from frontdesk.sales.adjustments import PointAdjustments
from frontdesk.search import SearchService
from frontdesk.store import make_engine
from frontdesk.store.db import upgrade_database
from sync.outbox import discard_entry

STAFF = {"S01": 1, "S02": 2, "S03": 3, "S04": 4}
MANAGER, PIN = 3, "9999"
LINES = [
    LineInput("Ladies Cut & Blow", "SVC-CUT-L", "Hair", "1", "68.00", "6.12"),
    LineInput("Colour Retouch", "SVC-COL-R", "Colour", "1", "120.00", "10.80"),
    LineInput("Repair Shampoo 250ml", "PRD-SHA-250", "Retail", "2", "32.00", "5.76"),
    LineInput("Scalp Treatment", "SVC-SCP", "Treatment", "1", "85.00", "7.65", "4.25"),
    LineInput("Gents Cut", "SVC-CUT-G", "Hair", "1", "38.00", "3.42", "", "5.00"),
]


@dataclass
class GeneratedDay:
    db: Path
    settings: Settings
    day: date
    scope: DayScope
    home: Home
    engine: object
    services: object
    sale_ids: list[int]
    rejected_outbox: list[int]
    in_doubt_outbox: list[int]
    pending_outbox: list[int]


def sql(db: Path, statement: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(str(db))
    try:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def members_with_points(db: Path, at_least: int, count: int) -> list[int]:
    rows = sql(db, "SELECT id FROM members WHERE points_balance >= ? AND status = 'active' "
                   "AND (SELECT count(*) FROM members o WHERE o.phone_e164 = members.phone_e164) = 1 "
                   "ORDER BY id LIMIT ?", (at_least, count))
    assert len(rows) == count
    return [r[0] for r in rows]


def settle(db: Path, outbox_id: int, outcome: str, *, server_points: int | None = None, error: str = "") -> None:
    """Put an entry in the state the sync worker leaves it in (sync.outbox._apply_done / _apply_park)."""
    sale_id = sql(db, "SELECT sale_id FROM outbox WHERE id = ?", (outbox_id,))[0][0]
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    if outcome == "done":
        sql(db, "UPDATE outbox SET status='done', delivered_at=?, response='{}' WHERE id=?", (now, outbox_id))
        if sale_id is not None:
            sql(db, "UPDATE sales SET status='synced', server_points=coalesce(?, points_earned), "
                    "server_transaction_id=? WHERE id=?", (server_points, f"tx{outbox_id}", sale_id))
            sql(db, "UPDATE points_ledger SET status='confirmed' WHERE sale_id=? AND status='pending'", (sale_id,))
    elif outcome == "park":
        sql(db, "UPDATE outbox SET status='parked', last_error=? WHERE id=?", (error, outbox_id))
        if sale_id is not None:
            sql(db, "UPDATE sales SET status='rejected', reject_reason=? WHERE id=?", (error, sale_id))
            sql(db, "UPDATE points_ledger SET status='rejected' WHERE sale_id=? AND status='pending'", (sale_id,))
    elif outcome == "in_doubt":  # issue 10's state: sent, answer lost
        sql(db, "UPDATE outbox SET status='in_doubt', last_error='answer lost' WHERE id=?", (outbox_id,))
        if sale_id is not None:
            sql(db, "UPDATE sales SET status='in_doubt' WHERE id=?", (sale_id,))


def outbox_of(db: Path, sale_id: int) -> int:
    return sql(db, "SELECT id FROM outbox WHERE sale_id = ? ORDER BY id DESC LIMIT 1", (sale_id,))[0][0]


def build_day(db: Path, *, seed: int = 13, sales: int = 40) -> GeneratedDay:
    upgrade_database(db)
    base = replace(Settings(), database=str(db), outlet_code="TAMPINES", counter_id="C2",
                   offline_redeem_allowance_points=5000)
    zone = base.zone
    day = datetime.now(zone).date() - timedelta(days=1)
    rng = random.Random(seed)
    engine = make_engine(db)
    search = SearchService(engine, region=base.phone_region)
    services = build_counter_services(engine, base, search)
    clock = lambda: datetime.combine(day, time(23, 0), zone).astimezone(timezone.utc)  # noqa: E731
    online = SalesService(engine, base, services.programmes, services.staff, is_online=lambda: True, clock=clock)
    offline = SalesService(engine, base, services.programmes, services.staff, is_online=lambda: False,
                              clock=clock)
    rich = members_with_points(db, 3000, 12)
    sale_ids: list[int] = []
    for n in range(sales):
        member = rich[n % len(rich)]
        at = datetime.combine(day, time(9 + (n * 11) // sales, rng.randrange(60)), zone)
        lines = tuple(rng.sample(LINES, rng.randrange(1, 4)))
        shape = n % 6
        redemptions: tuple[RedemptionInput, ...] = ()
        checkout = online
        if shape == 1:
            redemptions = (RedemptionInput("reward", "CUT10"),)
        elif shape == 2:
            redemptions = (RedemptionInput("points", amount=f"{rng.randrange(5, 9)}.50"),)
        elif shape == 3:
            checkout = offline  # a provisional redemption, made while the server was unreachable
            redemptions = (RedemptionInput("points", amount="5.00"),)
        draft = SaleRequest(member_id=member, staff_id=STAFF[rng.choice(["S01", "S02", "S04"])],
                              receipt_no=f"D{n:04d}", occurred_at=at, lines=lines, redemptions=redemptions)
        quote = checkout.quote(draft)
        assert quote.to_pay is not None, quote.errors
        to_pay = quote.to_pay
        if shape in (4, 5) and to_pay.minor > 1000:  # split tender
            part = to_pay.minor // 3
            payments = (PaymentInput("cash", f"{part // 100}.{part % 100:02d}"),
                        PaymentInput("card", (to_pay - to_pay.from_minor(part, to_pay.currency)).plain()))
        else:
            payments = (PaymentInput(rng.choice(["card", "nets", "cash"]), to_pay.plain()),)
        confirmed = checkout.record(replace(draft, payments=payments))
        assert not quote.errors or confirmed, quote.errors
        sale_ids.append(confirmed.sale_id)

    # Reversals, approved by the manager: two voids and three partial refunds (one sale refunded twice).
    online.reverse(sale_ids[0], void=True, manager_id=MANAGER, manager_pin=PIN, reason="wrong member")
    online.reverse(sale_ids[7], void=True, manager_id=MANAGER, manager_pin=PIN, reason="keyed twice")
    online.reverse(sale_ids[4], void=False, amount="10.00", manager_id=MANAGER, manager_pin=PIN, reason="complaint")
    online.reverse(sale_ids[4], void=False, amount="5.55", manager_id=MANAGER, manager_pin=PIN, reason="again")
    online.reverse(sale_ids[10], void=False, amount="20.00", manager_id=MANAGER, manager_pin=PIN, reason="product")

    # A goodwill adjustment and a correction, at the counter that day.
    adjustments = PointAdjustments(engine, base, services.staff, clock=clock)
    adjustments.adjust(rich[0], "+150", reason="goodwill", note="waited too long", manager_id=MANAGER, pin=PIN)
    adjustments.adjust(rich[1], "-40", reason="correction", note="double credit", manager_id=MANAGER, pin=PIN)

    # Settle: most delivered (a few with the server's own figure), some rejected, in doubt, discarded, pending.
    entries = [r[0] for r in sql(db, "SELECT id FROM outbox WHERE status='pending' ORDER BY id")]
    rejected, doubtful, pending = [], [], []
    for index, entry in enumerate(entries):
        if index % 9 == 2:
            settle(db, entry, "park", error="The reward code has already been used.")
            rejected.append(entry)
        elif index % 11 == 5:
            settle(db, entry, "in_doubt")
            doubtful.append(entry)
        elif index % 13 == 7:
            pending.append(entry)
        else:
            earned = sql(db, "SELECT points_earned FROM sales WHERE id = (SELECT sale_id FROM outbox WHERE id=?)",
                         (entry,))
            server = (earned[0][0] + 3) if earned and earned[0][0] is not None and index % 5 == 0 else None
            settle(db, entry, "done", server_points=server)
    # One rejected entry discarded with a reason: it no longer blocks, and issued nothing.
    discard_entry(engine, rejected[-1], MANAGER, note="customer left without the reward")
    search.close()
    home = Home(outlet=base.outlet_code, counter=base.counter_id, zone=zone, currency=base.currency)
    return GeneratedDay(db=db, settings=base, day=day, scope=DayScope(day=day), home=home, engine=engine,
                        services=services, sale_ids=sale_ids, rejected_outbox=rejected[:-1],
                        in_doubt_outbox=doubtful, pending_outbox=pending)


@pytest.fixture(scope="session")
def day_template(tmp_path_factory: pytest.TempPathFactory, demo_db_template: Path) -> Path:
    import shutil

    path = tmp_path_factory.mktemp("day") / "day.sqlite"
    shutil.copy2(demo_db_template, path)
    generated = build_day(path)
    generated.engine.dispose()  # type: ignore[attr-defined]
    return path


@pytest.fixture
def generated_day(tmp_path: Path, day_template: Path) -> GeneratedDay:
    from frontdesk.store.db import copy_sqlite

    target = tmp_path / "day.sqlite"
    copy_sqlite(day_template, target)
    base = replace(Settings(), database=str(target), outlet_code="TAMPINES", counter_id="C2",
                   offline_redeem_allowance_points=5000)
    engine = make_engine(target)
    search = SearchService(engine, region=base.phone_region)
    services = build_counter_services(engine, base, search)
    zone = base.zone
    day = datetime.now(zone).date() - timedelta(days=1)
    outbox = sql(target, "SELECT id, status FROM outbox")
    yield GeneratedDay(db=target, settings=base, day=day, scope=DayScope(day=day),
                       home=Home(outlet="TAMPINES", counter="C2", zone=zone, currency="SGD"), engine=engine,
                       services=services, sale_ids=[r[0] for r in sql(target, "SELECT id FROM sales WHERE "
                                                                           "receipt_no LIKE 'D%' AND kind='sale' ORDER BY id")],
                       rejected_outbox=[i for i, s in outbox if s == "parked"],
                       in_doubt_outbox=[i for i, s in outbox if s == "in_doubt"],
                       pending_outbox=[i for i, s in outbox if s == "pending"])
    search.close()
    engine.dispose()


# The real reference server and counter databases of the sync tests, for point adjustments that really sync.
from tests.sync.conftest import counter, counter_template, server, server_factory, shared_server  # noqa: E402,F401
