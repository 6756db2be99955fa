"""Realistic counter sales waiting in the outbox, for drills, benchmarks and support (`frontdesk demo-data
--queued-sales N`).

Each sale goes through the real checkout (`SalesService.record`): a salon bill of one to three services or retail
lines, the member's own tier rules, a card payment for what is left, now and then a reward; so the outbox rows,
ledger rows and receipts are exactly what a busy day at the counter leaves behind. They are sent, like any queued
sale, only to the loyalty server this counter is configured for, the next time sync runs.

May import `frontdesk.sales`, `frontdesk.counter`, `frontdesk.search`, `frontdesk.store`, `frontdesk.config`.
"""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.sales import LineInput, PaymentInput, RedemptionInput, SaleRefused, SaleRequest

CATALOGUE = (
    LineInput("Ladies Cut & Blow", "SVC-CUT-L", "Hair", "1", "68.00", "6.12"),
    LineInput("Men's Cut", "SVC-CUT-M", "Hair", "1", "33.00", "2.97"),
    LineInput("Colour Retouch", "SVC-COL-R", "Colour", "1", "120.00", "10.80"),
    LineInput("Keratin Treatment", "SVC-TRT-K", "Treatment", "1", "180.00", "16.20"),
    LineInput("Repair Shampoo 250ml", "PRD-SHA-250", "Retail", "2", "32.00", "5.76"),
)


def queue_demo_sales(settings: Settings, count: int, *, seed: int = 11) -> int:
    """Record `count` sales at this counter (queued for sync); returns how many were recorded."""
    from frontdesk.counter import build_counter_services
    from frontdesk.search import SearchService
    from frontdesk.store import make_engine
    from frontdesk.store.models import Member, Staff

    rng = random.Random(seed)
    engine = make_engine(settings.database_path)
    search = SearchService(engine, region=settings.phone_region)
    try:
        services = build_counter_services(engine, settings, search)
        with Session(engine) as session:
            members = list(session.scalars(select(Member.id).where(Member.status == "active",
                                                                   Member.server_id.isnot(None))))
            staff = list(session.scalars(select(Staff.id).where(Staff.active.is_(True))))
        if not members or not staff:
            raise ValueError("the database has no active members or staff: run `frontdesk demo-data` first")
        stamp = datetime.now(timezone.utc).strftime("%y%m%d%H%M%S")
        recorded = 0
        for number in range(count):
            lines = tuple(rng.sample(CATALOGUE, rng.randint(1, 3)))
            redemptions = (RedemptionInput("reward", "CUT10"),) if rng.random() < 0.05 else ()
            draft = SaleRequest(member_id=rng.choice(members), staff_id=rng.choice(staff),
                                receipt_no=f"Q{stamp}-{number + 1:05d}", lines=lines, redemptions=redemptions)
            quote = services.sales.quote(draft)
            if quote.to_pay is None or (redemptions and not quote.ok):
                draft = replace(draft, redemptions=())
                quote = services.sales.quote(draft)
            if quote.to_pay is None:
                continue
            try:
                services.sales.record(replace(draft, payments=(PaymentInput("card", quote.to_pay.plain()),)))
            except SaleRefused:
                continue
            recorded += 1
        return recorded
    finally:
        search.close()
        engine.dispose()
