"""The checkout service on real database files: what a sale writes, never twice, never half, and what it refuses."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from frontdesk.sales import (
    LineInput,
    PaymentInput,
    RedemptionInput,
    SaleRefused,
    SalesService,
    new_draft_id,
)
from tests.sales.conftest import (
    STAFF,
    draft_for,
    member_with_points,
    paid_in_full,
    query,
    set_balance,
)


def wire_plan(db, sale_id: int):  # type: ignore[no-untyped-def]
    """The loyalty API requests sync would send for the sale's outbox entry now."""
    from sqlalchemy import create_engine, select

    from frontdesk.store.models import OutboxEntry
    from sync.eber.effects import build_plan

    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            row = conn.execute(select(OutboxEntry.__table__).where(OutboxEntry.sale_id == sale_id)).first()
            return build_plan(conn, row, "SG")
    finally:
        engine.dispose()


def _pending_points(db, member_id: int) -> int:
    return query(db, "SELECT coalesce(sum(points), 0) FROM points_ledger WHERE member_id = ? AND status = 'pending'",
                 (member_id,))[0][0]


def test_a_sale_writes_everything_in_one_go(services, settings, demo_db):
    member_id = member_with_points(demo_db, 3000, "GOLD")
    draft = draft_for(member_id, "W1001", redemptions=(RedemptionInput("reward", "CUT10"),))
    quote = services.sales.quote(draft)
    assert quote.to_pay is not None
    half = (quote.to_pay.amount / 2).quantize(quote.to_pay.amount)
    draft = replace(draft, payments=(PaymentInput("card", str(half), "slip 4411"),
                                     PaymentInput("cash", str(quote.to_pay.amount - half))))
    quote = services.sales.quote(draft)
    assert quote.ok, quote.errors
    # The explanation names the rules: Colour ×1.5 for Gold, the Gold tier ×1.25, the retail bonus.
    explanations = [line.explanation for line in quote.preview.lines]
    assert "Colour ×1.5 Gold" in explanations[1] and "Gold tier ×1.25" in explanations[1]
    assert "Retail bonus" in explanations[2]
    assert quote.redemptions[0].wess_instruction == "Key a S$10.00 discount into WESS (CUT10)"
    before = quote.points_available

    sale = services.sales.record(draft)
    assert not sale.replayed and sale.points_earned == quote.points_earned > 0
    assert sale.new_balance == before - 1000 + sale.points_earned

    (sale_row,) = query(demo_db, "SELECT kind, receipt_no, outlet_code, counter_id, staff_id, member_id, total_minor, "
                                 "discount_minor, tax_minor, points_earned, points_redeemed, status FROM sales "
                                 "WHERE id = ?", (sale.sale_id,))
    assert sale_row == ("sale", "W1001", "TAMPINES", "C2", STAFF["S01"], member_id, quote.total.minor, 1000,
                        2268, sale.points_earned, 1000, "pending")
    assert query(demo_db, "SELECT count(*) FROM sale_items WHERE sale_id = ?", (sale.sale_id,))[0][0] == 3
    assert sorted(query(demo_db, "SELECT method, amount_minor, reference FROM sale_payments WHERE sale_id = ?",
                        (sale.sale_id,))) == sorted([("card", int(half * 100), "slip 4411"),
                                                     ("cash", quote.to_pay.minor - int(half * 100), "")])
    ledger = query(demo_db, "SELECT kind, points, status, staff_id, outlet_code FROM points_ledger WHERE sale_id = ? "
                            "ORDER BY id", (sale.sale_id,))
    assert ledger == [("earn", sale.points_earned, "pending", 1, "TAMPINES"),
                      ("redeem", -1000, "pending", 1, "TAMPINES")]
    (outbox,) = query(demo_db, "SELECT idempotency_key, kind, partition_key, member_id, payload, status FROM outbox "
                               "WHERE sale_id = ?", (sale.sale_id,))
    assert outbox[0] == draft.draft_id and len(outbox[0]) == 32
    assert outbox[1:4] == ("sale", f"member:{member_id}", member_id) and outbox[5] == "pending"
    payload = json.loads(outbox[4])
    # The outbox says which sale, in the counter's terms; sync builds the API request from the rows at send time.
    assert payload == {"v": 2, "sale_id": sale.sale_id}
    plan = wire_plan(demo_db, sale.sale_id)
    params = plan.issue
    assert plan.codes == ("CUT10",) and [code for code, _ in plan.redeems] == ["CUT10"]
    assert params["transaction_no"] == "W1001" and params["amount"] == quote.total.plain()
    assert params["custom_store_id"] == params["custom_store_code"] == "TAMPINES"
    assert params["custom_staff_id"] == "S01" and params["discount"] == "10.00" and params["tax"] == "22.68"
    assert "user_id" in params  # demo members are known to the server
    assert len(params["utc_transaction_created_at"]) == 19
    items = json.loads(params["item_data_json"])
    assert items[2] == {"name": "Repair Shampoo 250ml", "sku": "PRD-SHA-250", "category": "Retail", "quantity": 2,
                        "unit_amount": "32.00", "total_amount": "64.00"}
    assert {p["name"] for p in json.loads(params["payment_data_json"])} == {"card", "cash"}
    assert "point_conversion_points" not in params
    # Server balance untouched: the pending ledger carries the effect.
    assert _pending_points(demo_db, member_id) == sale.points_earned - 1000
    assert "Points earned" in sale.receipt_text and f"{sale.new_balance:,} pts" in sale.receipt_text


def test_paying_with_points_is_a_tender_and_is_sent_as_point_conversion(services, demo_db):
    member_id = member_with_points(demo_db, 1500)
    draft = draft_for(member_id, "W1002", redemptions=(RedemptionInput("points", amount="7.50"),))
    draft = paid_in_full(services, draft, "nets")
    quote = services.sales.quote(draft)
    assert quote.ok, quote.errors
    assert quote.points_payment.plain() == "7.50" and quote.redemptions[0].points == 750
    assert quote.to_pay == quote.total - quote.points_payment
    sale = services.sales.record(draft)
    assert wire_plan(demo_db, sale.sale_id).issue["point_conversion_points"] == 750
    assert ("points", 750, "750 pts") in query(demo_db, "SELECT method, amount_minor, reference FROM sale_payments "
                                                        "WHERE sale_id = ?", (sale.sale_id,))


def test_confirming_the_same_draft_twice_writes_once(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    draft = paid_in_full(services, draft_for(member_id, "W1003"))
    first = services.sales.record(draft)
    second = services.sales.record(draft)  # double click, or a retry after a timeout
    assert second.replayed and second.sale_id == first.sale_id and second.receipt_text == first.receipt_text
    assert query(demo_db, "SELECT count(*) FROM sales WHERE receipt_no = 'W1003'")[0][0] == 1
    assert query(demo_db, "SELECT count(*) FROM outbox WHERE sale_id = ?", (first.sale_id,))[0][0] == 1


def test_a_receipt_number_already_used_here_is_refused_with_the_earlier_sale(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    first = services.sales.record(paid_in_full(services, draft_for(member_id, "W1004")))
    again = paid_in_full(services, draft_for(member_id, "W1004"))  # a new screen: a new draft id
    with pytest.raises(SaleRefused) as refused:
        services.sales.record(again)
    quote = refused.value.quote
    assert quote.earlier_sale is not None and quote.earlier_sale.id == first.sale_id
    message = quote.errors["receipt_no"]
    assert message.startswith("Receipt W1004 is already recorded:") and "served by Jason Lim" in message
    assert query(demo_db, "SELECT count(*) FROM sales WHERE receipt_no = 'W1004'")[0][0] == 1


@pytest.mark.parametrize("kill_at_flush", [1, 2])
def test_a_crash_mid_confirm_leaves_nothing_and_the_redo_succeeds(services, settings, demo_db, tmp_path,
                                                                  kill_at_flush):
    """kill -9 while the transaction is open (after the sale rows, or after the outbox row): nothing is half-written."""
    member_id = member_with_points(demo_db, 0)
    draft = paid_in_full(services, draft_for(member_id, "W1005"))
    services.sales.engine.dispose()
    script = tmp_path / "confirm_and_hang.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        from dataclasses import replace
        from sqlalchemy import event
        from sqlalchemy.orm import Session
        from frontdesk.config import Settings
        from frontdesk.search import SearchService
        from frontdesk.counter import build_counter_services
        from frontdesk.sales import *
        from frontdesk.store import make_engine
        settings = replace(Settings(), database={str(demo_db)!r}, outlet_code="TAMPINES", counter_id="C2")
        engine = make_engine(settings.database_path)
        services = build_counter_services(engine, settings, SearchService(engine))
        flushes = 0
        @event.listens_for(Session, "after_flush")
        def hang(session, context):
            global flushes
            flushes += 1
            if flushes == {kill_at_flush}:
                print("FLUSHED", flush=True)
                time.sleep(60)
        draft = {draft!r}
        services.sales.record(draft)
        print("COMMITTED", flush=True)
    """))
    env_root = str(Path(__file__).resolve().parents[2])
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=env_root)
    try:
        line = process.stdout.readline()
        assert line.strip() == "FLUSHED", process.stderr.read()
    finally:
        process.kill()  # SIGKILL: no cleanup, no rollback by Python
        process.wait(10)
    assert query(demo_db, "SELECT count(*) FROM sales WHERE receipt_no = 'W1005'")[0][0] == 0
    assert query(demo_db, "SELECT count(*) FROM outbox WHERE idempotency_key = ?", (draft.draft_id,))[0][0] == 0
    assert _pending_points(demo_db, member_id) == 0
    redo = services.sales.record(draft)
    assert not redo.replayed
    assert query(demo_db, "SELECT count(*) FROM sales WHERE receipt_no = 'W1005'")[0][0] == 1
    assert query(demo_db, "SELECT count(*) FROM points_ledger WHERE sale_id = ?", (redo.sale_id,))[0][0] == 1


def test_every_field_is_checked_with_a_message_and_nothing_is_saved(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    lines = (LineInput("Cut", "SVC-CUT-L", "Hair", "-1", "68.00"),
             LineInput("Colour", "SVC-COL-R", "Colour", "1", "12O.00", "abc"),
             LineInput("", "", "", "1.5", "10", discount="20"))
    draft = draft_for(member_id, "", staff="S01", lines=lines, payments=(PaymentInput("card", "-5"),))
    draft = replace(draft, staff_id=None, occurred_at=datetime.now(timezone.utc) + timedelta(days=1))
    errors = services.sales.quote(draft).errors
    assert errors["receipt_no"] == "Enter the WESS receipt number"
    assert errors["staff"] == "Pick who served the customer"
    assert errors["occurred_at"] == "That time is in the future"
    assert errors["lines[0].quantity"].startswith("Must be at least 1")
    assert errors["lines[1].unit_price"] == "“12O.00” is not an amount"
    assert errors["lines[1].tax"] == "“abc” is not an amount"
    assert errors["lines[2].name"] == "Enter the item as printed on the receipt"
    assert errors["lines[2].quantity"] == "“1.5” is not a whole number"
    assert errors["payments[0].amount"] == "Cannot be negative"
    with pytest.raises(SaleRefused):
        services.sales.record(draft)

    fine_lines = (LineInput("Cut", "SVC-CUT-L", "Hair", "1", "50.00", discount="60"),)
    errors = services.sales.quote(draft_for(member_id, "W1006", lines=fine_lines)).errors
    assert errors["lines[0].discount"] == "More than the line's price (S$50.00)"

    short = draft_for(member_id, "W1006", lines=(LineInput("Cut", "", "", "1", "50.00"),),
                      payments=(PaymentInput("card", "20"), PaymentInput("cash", "25")))
    assert services.sales.quote(short).errors == {"payments": "S$5.00 still to pay"}
    over = replace(short, payments=(PaymentInput("card", "60"),))
    assert services.sales.quote(over).errors == {"payments": "Overpaid by S$10.00"}
    none = replace(short, payments=())
    assert services.sales.quote(none).errors == {"payments": "Add how the customer paid (S$50.00)"}
    assert query(demo_db, "SELECT count(*) FROM sales WHERE receipt_no LIKE 'W1006%'")[0][0] == 0


def test_an_unaffordable_reward_is_refused_beside_the_reward(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    set_balance(demo_db, member_id, 400)
    draft = paid_in_full(services, draft_for(member_id, "W1007"))
    draft = replace(draft, redemptions=(RedemptionInput("reward", "CUT10"), RedemptionInput("points", amount="2")))
    errors = services.sales.quote(draft).errors
    assert errors["redemptions[0]"] == "S$10 off any service costs 1,000 pts; 400 pts available"
    assert errors["redemptions[1]"].startswith("Paying with points needs at least 500 pts; 400 pts available")


def test_total_only_mode_earns_on_the_amount_before_tax(services, demo_db):
    member_id = member_with_points(demo_db, 0, "CLASSIC")
    draft = replace(draft_for(member_id, "W1008", lines=()), itemised=False, total="109.00", total_tax="9.00",
                    payments=(PaymentInput("card", "109.00"),))
    quote = services.sales.quote(draft)
    assert quote.ok, quote.errors
    assert quote.preview.lines[0].points == 100 and quote.total.plain() == "109.00"
    bad = replace(draft, total="12,3x")
    assert services.sales.quote(bad).errors["total"] == "“12,3x” is not an amount"


def test_offline_redemptions_stay_within_the_allowance_and_are_provisional(services, demo_db):
    member_id = member_with_points(demo_db, 0, "GOLD")
    set_balance(demo_db, member_id, 9000)
    big_bill = (LineInput("Full Head Highlights", "SVC-COL-H", "Colour", "1", "220.00", "19.80"),)
    draft = draft_for(member_id, "W1010", lines=big_bill, redemptions=(RedemptionInput("reward", "GOLD-SPA"),))
    quote = services.sales.quote(paid_in_full(services, replace(draft, redemptions=())))
    assert quote.points_spendable == 2000 and not quote.online
    errors = services.sales.quote(draft).errors
    assert errors["redemptions[0]"] == ("Gold spa hour: S$60 off costs 4,000 pts; 2,000 pts available (offline: at "
                                        "most 2,000 pts can be redeemed until the loyalty server confirms)")
    # Within the allowance: allowed, provisional.
    first = paid_in_full(services, replace(draft, redemptions=(RedemptionInput("reward", "CUT10"),)))
    sale = services.sales.record(first)
    assert sale.provisional
    assert query(demo_db, "SELECT provisional FROM sales WHERE id = ?", (sale.sale_id,))[0][0] == 1
    assert query(demo_db, "SELECT provisional FROM sale_redemptions WHERE sale_id = ?", (sale.sale_id,))[0][0] == 1
    # The allowance counts the earlier unconfirmed offline burn: 1,000 left.
    second = draft_for(member_id, "W1011", lines=big_bill, redemptions=(RedemptionInput("points", amount="10.01"),))
    quote = services.sales.quote(second)
    assert quote.points_spendable == 1000
    assert quote.errors["redemptions[0]"].startswith("At most 1,000 pts (S$10.00) can pay this bill")
    # Online, the same reward is judged against the whole available balance and is not provisional.
    online = SalesService(services.sales.engine, services.sales.settings, services.programmes,
                             services.staff, is_online=lambda: True)
    draft = replace(draft, receipt_no="W1012")
    to_pay = online.quote(draft).to_pay
    quote = online.quote(replace(draft, payments=(PaymentInput("card", to_pay.plain()),)))
    assert quote.ok, quote.errors
    assert quote.discount_total.plain() == "60.00"
    assert not quote.provisional and quote.points_spendable == quote.points_available


def test_a_reward_limited_per_member_counts_earlier_sales_but_not_voided_ones(services, demo_db):
    member_id = member_with_points(demo_db, 0, "GOLD")
    online = SalesService(services.sales.engine, services.sales.settings, services.programmes,
                             services.staff, is_online=lambda: True)
    big = (LineInput("Full Head Highlights", "SVC-COL-H", "Colour", "1", "220.00"),)
    set_balance(demo_db, member_id, 9000)
    sale = online.record(paid_in_full(online, draft_for(
        member_id, "W1020", lines=big, redemptions=(RedemptionInput("reward", "GOLD-SPA"),))))
    again = draft_for(member_id, "W1021", lines=big, redemptions=(RedemptionInput("reward", "GOLD-SPA"),))
    assert online.quote(again).errors["redemptions[0]"].startswith("Gold spa hour: S$60 off can be redeemed once")
    online.reverse(sale.sale_id, void=True, manager_id=STAFF["S03"], manager_pin="9999", reason="wrong bill")
    assert "redemptions[0]" not in online.quote(again).errors


def test_a_void_reverses_exactly_and_is_queued_linked_and_audited(services, demo_db):
    member_id = member_with_points(demo_db, 3000, "GOLD")
    available_before = services.sales.quote(draft_for(member_id, "X")).points_available
    draft = paid_in_full(services, draft_for(member_id, "W1030", redemptions=(RedemptionInput("reward", "CUT10"),)))
    sale = services.sales.record(draft)
    preview = services.sales.quote_reversal(sale.sale_id, void=True)
    assert preview.ok and preview.reversal.points_clawed_back == sale.points_earned
    assert preview.reversal.points_restored == 1000 and preview.reversal.reward_codes_reinstated == ("CUT10",)

    result = services.sales.reverse(sale.sale_id, void=True, manager_id=STAFF["S03"], manager_pin="9999",
                                       reason="keyed on the wrong member", requested_by=STAFF["S01"])
    assert result.new_balance == available_before
    assert services.sales.quote(draft_for(member_id, "X")).points_available == available_before
    (row,) = query(demo_db, "SELECT kind, original_sale_id, staff_id, receipt_no, points_earned, points_redeemed "
                            "FROM sales WHERE id = ?", (result.reversal_sale_id,))
    assert row == ("void", sale.sale_id, STAFF["S03"], "W1030", 1000, sale.points_earned)
    assert sorted(query(demo_db, "SELECT kind, points, staff_id FROM points_ledger WHERE sale_id = ?",
                        (result.reversal_sale_id,))) == [("clawback", -sale.points_earned, 3), ("restore", 1000, 3)]
    (kind, payload) = query(demo_db, "SELECT kind, payload FROM outbox WHERE sale_id = ?",
                            (result.reversal_sale_id,))[0]
    assert kind == "void" and json.loads(payload) == {"v": 2, "original_sale_id": sale.sale_id,
                                                      "redeem_codes": ["CUT10"]}
    (details,) = query(demo_db, "SELECT details FROM audit_log WHERE action = 'void'")[0]
    audit = json.loads(details)
    assert audit["original_sale_id"] == sale.sale_id and audit["approved_by"] == "S03"
    assert audit["requested_by"] == STAFF["S01"] and audit["reason"] == "keyed on the wrong member"
    with pytest.raises(Exception) as again:
        services.sales.reverse(sale.sale_id, void=True, manager_id=3, manager_pin="9999", reason="twice")
    assert again.value.errors == {"sale": "This sale has already been voided"}


def test_partial_refunds_claw_back_pro_rata_and_a_void_finishes_exactly(services, demo_db):
    member_id = member_with_points(demo_db, 0, "CLASSIC")
    set_balance(demo_db, member_id, 5000)
    lines = (LineInput("Keratin Treatment", "SVC-TRT-K", "Treatment", "1", "100.00"),
             LineInput("Men's Cut", "SVC-CUT-M", "Hair", "1", "33.00"))
    sale = services.sales.record(paid_in_full(services, draft_for(member_id, "W1040", lines=lines)))
    earned = sale.points_earned
    total_minor = sale.total.minor
    result = services.sales.reverse(sale.sale_id, void=False, amount="40.00", manager_id=3, manager_pin="9999",
                                       reason="one service not done")
    assert result.reversal.points_clawed_back == earned * 4000 // total_minor  # rounded down: the member keeps it
    payload = json.loads(query(demo_db, "SELECT payload FROM outbox WHERE sale_id = ?",
                               (result.reversal_sale_id,))[0][0])
    assert payload == {"v": 2, "original_sale_id": sale.sale_id, "points_change": -result.reversal.points_clawed_back,
                       "note": "refund of W1040"}
    too_much = services.sales.quote_reversal(sale.sale_id, void=False, amount="100.00")
    assert too_much.errors["amount"] == "More than is left of the sale (S$93.00)"
    rest = services.sales.reverse(sale.sale_id, void=True, manager_id=3, manager_pin="9999", reason="all back")
    assert result.reversal.points_clawed_back + rest.reversal.points_clawed_back == earned
    assert _pending_points(demo_db, member_id) == 0


def test_a_clawback_the_member_already_spent_is_recorded_as_shortfall(services, demo_db):
    member_id = member_with_points(demo_db, 0, "CLASSIC")
    set_balance(demo_db, member_id, 0)
    sale = services.sales.record(paid_in_full(services, draft_for(member_id, "W1050")))
    # Meanwhile the member spent all but 50 of those points elsewhere; the server says so.
    set_balance(demo_db, member_id, 50 - sale.points_earned)
    preview = services.sales.quote_reversal(sale.sale_id, void=True)
    assert preview.reversal.shortfall_points == sale.points_earned - 50
    result = services.sales.reverse(sale.sale_id, void=True, manager_id=3, manager_pin="9999", reason="refund")
    ledger = dict(query(demo_db, "SELECT kind, points FROM points_ledger WHERE sale_id = ?",
                        (result.reversal_sale_id,)))
    assert ledger == {"clawback": -sale.points_earned, "shortfall": sale.points_earned - 50}
    assert result.new_balance == 0 and "Shortfall" in result.receipt_text
    assert json.loads(query(demo_db, "SELECT details FROM audit_log WHERE action = 'void'")[0][0])[
        "shortfall_points"] == sale.points_earned - 50


def test_a_void_needs_a_manager_pin(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    sale = services.sales.record(paid_in_full(services, draft_for(member_id, "W1060")))
    attempts = [
        dict(manager_id=STAFF["S01"], manager_pin="1111", reason="test"),
        dict(manager_id=STAFF["S03"], manager_pin="1234", reason="test"),
        dict(manager_id=None, manager_pin="", reason=""),
    ]
    messages = []
    for attempt in attempts:
        with pytest.raises(Exception) as refused:
            services.sales.reverse(sale.sale_id, void=True, **attempt)
        messages.append(refused.value.errors)
    assert messages[0] == {"pin": "Jason Lim is not a manager: a manager must approve this"}
    assert messages[1]["pin"].startswith("Wrong PIN")
    assert set(messages[2]) == {"reason", "manager"}
    assert query(demo_db, "SELECT count(*) FROM sales WHERE original_sale_id = ?", (sale.sale_id,))[0][0] == 0


def test_a_voucher_is_used_once_and_comes_back_with_a_void(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    from tests.sales.conftest import execute

    execute(demo_db, "INSERT INTO member_vouchers(code, member_id, name, method, amount_minor, status) "
                     "VALUES ('BDAY-77', ?, 'Birthday S$15', 'amount', 1500, 'available')", (member_id,))
    draft = paid_in_full(services, draft_for(member_id, "W1070", redemptions=(RedemptionInput("voucher", "bday-77"),)))
    quote = services.sales.quote(draft)
    assert quote.ok and quote.discount_total.plain() == "15.00" and quote.points_redeemed == 0
    sale = services.sales.record(draft)
    assert query(demo_db, "SELECT status FROM member_vouchers WHERE code = 'BDAY-77'")[0][0] == "used"
    reuse = draft_for(member_id, "W1071", redemptions=(RedemptionInput("voucher", "BDAY-77"),))
    assert services.sales.quote(reuse).errors["redemptions[0]"] == "Voucher BDAY-77 has already been used"
    stranger = draft_for(member_id, "W1071", redemptions=(RedemptionInput("voucher", "NOPE-1"),))
    assert "is not one of" in services.sales.quote(stranger).errors["redemptions[0]"]
    services.sales.reverse(sale.sale_id, void=True, manager_id=3, manager_pin="9999", reason="void")
    assert query(demo_db, "SELECT status FROM member_vouchers WHERE code = 'BDAY-77'")[0][0] == "available"


def test_a_bad_draft_id_is_refused(services, demo_db):
    member_id = member_with_points(demo_db, 0)
    draft = replace(paid_in_full(services, draft_for(member_id, "W1080")), draft_id="not-a-uuid")
    assert "draft" in services.sales.quote(draft).errors
    assert len(new_draft_id()) == 32
