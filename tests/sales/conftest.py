"""Fixtures for the counter checkout: real demo database files, real services, no stand-ins.

The counter is set to outlet TAMPINES because the demo programme earns at ORCHARD, TAMPINES and JURONG only.
"""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from frontdesk.config import Settings
from frontdesk.counter import CounterServices, build_counter_services
from frontdesk.sales import LineInput, PaymentInput, RedemptionInput, SaleRequest
from frontdesk.search import SearchService
from frontdesk.store import make_engine

STAFF = {"S01": 1, "S02": 2, "S03": 3, "S04": 4}  # demo staff codes -> ids (S03 Mei Tan is the manager, PIN 9999)


@pytest.fixture
def settings(demo_db: Path) -> Settings:
    return replace(Settings(), database=str(demo_db), outlet_code="TAMPINES", counter_id="C2",
                   offline_redeem_allowance_points=2000)


@pytest.fixture
def engine(settings: Settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_path)
    yield engine
    engine.dispose()


@pytest.fixture
def services(engine, settings: Settings) -> CounterServices:  # type: ignore[no-untyped-def]
    search = SearchService(engine, region=settings.phone_region)
    yield build_counter_services(engine, settings, search)
    search.close()


def query(db: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(str(db))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def execute(db: Path | str, sql: str, params: tuple = ()) -> None:
    conn = sqlite3.connect(str(db))
    try:
        conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def member_with_points(db: Path | str, at_least: int, tier: str | None = None, *, unique_phone: bool = True) -> int:
    """A demo member with at least `at_least` points (and the tier, if given) whose phone nobody else shares."""
    where = "points_balance >= ?" + (" AND tier_code = ?" if tier else "")
    params: tuple = (at_least, tier) if tier else (at_least,)
    if unique_phone:
        where += " AND (SELECT count(*) FROM members o WHERE o.phone_e164 = members.phone_e164) = 1"
    rows = query(db, f"SELECT id FROM members WHERE {where} ORDER BY id LIMIT 1", params)
    assert rows, f"demo data has no member with {at_least} points"
    return rows[0][0]


def set_balance(db: Path | str, member_id: int, points: int) -> None:
    execute(db, "UPDATE members SET points_balance = ? WHERE id = ?", (points, member_id))


def three_lines() -> tuple[LineInput, ...]:
    """A salon bill: a cut (Hair), a colour (Colour: ×1.5 for Gold), two bottles of shampoo (Retail bonus)."""
    return (
        LineInput("Ladies Cut & Blow", "SVC-CUT-L", "Hair", "1", "68.00", "6.12"),
        LineInput("Colour Retouch", "SVC-COL-R", "Colour", "1", "120.00", "10.80"),
        LineInput("Repair Shampoo 250ml", "PRD-SHA-250", "Retail", "2", "32.00", "5.76"),
    )


def draft_for(member_id: int, receipt: str, *, staff: str = "S01", payments: tuple[PaymentInput, ...] = (),
              redemptions: tuple[RedemptionInput, ...] = (), lines: tuple[LineInput, ...] | None = None,
              **extra) -> SaleRequest:  # type: ignore[no-untyped-def]
    return SaleRequest(member_id=member_id, staff_id=STAFF[staff], receipt_no=receipt,
                         lines=three_lines() if lines is None else lines, payments=payments,
                         redemptions=redemptions, **extra)


def paid_in_full(services, draft: SaleRequest, method: str = "card") -> SaleRequest:  # type: ignore[no-untyped-def]
    """The draft with one payment for whatever is left to pay after points (`services`: the bundle or a
    SalesService, so an online one can price what only online is allowed)."""
    checkout = getattr(services, "sales", services)
    quote = checkout.quote(replace(draft, payments=()))
    assert quote.to_pay is not None, quote.errors
    return replace(draft, payments=(PaymentInput(method, quote.to_pay.plain()),))
