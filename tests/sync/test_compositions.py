"""Ledger compositions end to end: sales, refunds and voids recorded by the real checkout service, delivered by the
real worker to the reference server (both modes). Each ends with server balance = counter balance = what the
programme says (here: back where the member started, or the sale's earn for a refused reward)."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.counter import CounterServices, build_counter_services
from frontdesk.sales import LineInput, RedemptionInput
from frontdesk.search import SearchService
from frontdesk.store.members import unsynced_points
from frontdesk.store.models import AuditEntry, LedgerEntry, Member, Sale, SaleRedemption
from tests.sales.conftest import draft_for, paid_in_full
from tests.sync.conftest import RunningServer, drain_until_empty, fast_worker

LINES = (LineInput("Keratin Treatment", "SVC-TRT-K", "Treatment", "1", "100.00"),
         LineInput("Men's Cut", "SVC-CUT-M", "Hair", "1", "33.00"))


@pytest.fixture(scope="module")
def strict_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    return server_factory("--strict")


@pytest.fixture(params=["reference", "strict"])
def target(request: pytest.FixtureRequest, server: RunningServer, strict_server: RunningServer) -> RunningServer:
    return server if request.param == "reference" else strict_server


@pytest.fixture
def services(counter: Engine) -> Iterator[CounterServices]:
    settings = replace(Settings(), database=str(counter.url.database), outlet_code="TAMPINES", counter_id="C2",
                       offline_redeem_allowance_points=5000)
    search = SearchService(counter, region=settings.phone_region)
    yield build_counter_services(counter, settings, search)
    search.close()


def receipt() -> str:
    return f"C-{uuid.uuid4().hex[:10]}"


def balances(counter: Engine, target: RunningServer, member_id: int) -> tuple[int, int]:
    """(what the counter shows: cached balance plus unsynced effects, what the server holds)."""
    with Session(counter) as session:
        member = session.get(Member, member_id)
        assert member is not None and member.server_id is not None
        shown = member.points_balance + unsynced_points(session, member_id)
        server_id = member.server_id
    return shown, target.client().user_show(user_id=server_id)["points"][0]["points"]


def drain(counter: Engine, target: RunningServer) -> None:
    worker = fast_worker(counter, target.client())
    try:
        drain_until_empty(worker, timeout=60)
    finally:
        worker.close()


def void(services: CounterServices, sale_id: int) -> Any:
    return services.sales.reverse(sale_id, void=True, manager_id=3, manager_pin="9999", reason="customer changed mind")


def refund(services: CounterServices, sale_id: int, amount: str) -> Any:
    return services.sales.reverse(sale_id, void=False, amount=amount, manager_id=3, manager_pin="9999",
                                  reason="one service not done")


SCENARIOS = ["refund_then_void", "two_refunds_to_full", "void_only", "reward_and_points_then_refund_and_void"]


@pytest.mark.parametrize("offline", [False, True], ids=["synced_between", "all_queued"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reversals_end_where_the_programme_says(services: CounterServices, counter: Engine,
                                                target: RunningServer, scenario: str, offline: bool) -> None:
    member_id = {"refund_then_void": 205, "two_refunds_to_full": 212, "void_only": 213,
                 "reward_and_points_then_refund_and_void": 239}[scenario] + (1 if offline else 0) * 0
    # Each test gets a fresh counter but the server is shared: start from the server's balance.
    with Session(counter) as session, session.begin():
        member = session.get(Member, member_id)
        assert member is not None
        start = target.client().user_show(user_id=member.server_id)["points"][0]["points"]
        member.points_balance = start

    def step() -> None:
        if not offline:
            drain(counter, target)

    redemptions: tuple[RedemptionInput, ...] = ()
    if scenario.startswith("reward"):
        redemptions = (RedemptionInput("reward", "CUT10"), RedemptionInput("points", "", amount="5.00"))
    draft = draft_for(member_id, receipt(), lines=LINES, redemptions=redemptions)
    sale = services.sales.record(paid_in_full(services, draft))
    step()
    if scenario == "refund_then_void":
        refund(services, sale.sale_id, "40.00")
        step()
        void(services, sale.sale_id)
    elif scenario == "two_refunds_to_full":
        refund(services, sale.sale_id, "40.00")
        step()
        refund(services, sale.sale_id, str(sale.total.amount - 40))
    elif scenario == "void_only":
        void(services, sale.sale_id)
    else:
        refund(services, sale.sale_id, "30.00")
        step()
        void(services, sale.sale_id)
    drain(counter, target)
    shown, held = balances(counter, target, member_id)
    assert shown == held == start


def test_a_refused_reward_does_not_sink_the_sale_or_its_points(services: CounterServices, counter: Engine,
                                                               target: RunningServer) -> None:
    member_id = 229
    with Session(counter) as session, session.begin():
        member = session.get(Member, member_id)
        assert member is not None
        start = target.client().user_show(user_id=member.server_id)["points"][0]["points"]
        member.points_balance = start
        server_id = member.server_id
    # Recorded offline against the cached balance; meanwhile the member spent their points elsewhere.
    sale = services.sales.record(paid_in_full(services, draft_for(
        member_id, receipt(), lines=LINES, redemptions=(RedemptionInput("reward", "CUT10"),))))
    spend = start - 10
    target.client().adjust_points({"user_id": server_id, "action": "deduct", "points": spend, "note": "elsewhere"})
    drain(counter, target)
    with Session(counter) as session:
        row = session.get(Sale, sale.sale_id)
        assert row is not None and row.status == "synced" and row.server_points  # the sale and its earn posted
        redemption = session.scalars(select(SaleRedemption).where(SaleRedemption.sale_id == sale.sale_id)).one()
        assert redemption.status == "refused" and "points" in redemption.server_note
        ledger = dict(session.execute(select(LedgerEntry.kind, LedgerEntry.status)
                                      .where(LedgerEntry.sale_id == sale.sale_id)).all())
        assert ledger == {"earn": "confirmed", "redeem": "rejected"}  # the 1,000 points were never deducted
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "sync.part_refused")).one()
        assert audit.details["code"] == "CUT10" and "settle" in audit.details["settle"]
        earned = row.server_points
    shown, held = balances(counter, target, member_id)
    assert shown == held == start - spend + earned
