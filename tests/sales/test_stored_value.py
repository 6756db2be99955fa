"""Stored value (the member's prepaid money balance) as a tender: spent 1:1 within the programme's limits, taken
off the balance in the sale's own transaction, and given back exactly by voids and refunds (pro rata, to the cent,
never more than was spent)."""
from __future__ import annotations

from decimal import Decimal

from frontdesk.sales import LineInput, PaymentInput
from tests.sales.conftest import STAFF, draft_for, execute, member_with_points, query

CUT = (LineInput("Ladies Cut & Blow", "SVC-CUT-L", "Hair", "1", "68.00"),)


def _with_stored_value(db, minor: int) -> int:  # type: ignore[no-untyped-def]
    member_id = member_with_points(db, 0)
    execute(db, "UPDATE members SET stored_value_minor = ? WHERE id = ?", (minor, member_id))
    return member_id


def _stored_value(db, member_id: int) -> int:  # type: ignore[no-untyped-def]
    return query(db, "SELECT stored_value_minor FROM members WHERE id = ?", (member_id,))[0][0]


def test_stored_value_pays_part_of_the_bill_and_comes_off_the_balance(services, demo_db):
    member_id = _with_stored_value(demo_db, 4000)
    draft = draft_for(member_id, "W5001", lines=CUT, payments=(PaymentInput("stored_value", "30.00"),
                                                                PaymentInput("card", "38.00")))
    quote = services.sales.quote(draft)
    assert quote.ok, quote.errors
    assert quote.stored_value_used.amount == Decimal("30.00")
    assert quote.stored_value_balance.amount == Decimal("40.00")
    assert quote.stored_value_max.amount == Decimal("40.00")
    sale = services.sales.record(draft)
    assert _stored_value(demo_db, member_id) == 1000
    assert query(demo_db, "SELECT method, amount_minor FROM sale_payments WHERE sale_id = ? ORDER BY id",
                 (sale.sale_id,)) == [("stored_value", 3000), ("card", 3800)]
    assert query(demo_db, "SELECT kind, discount_minor FROM sale_redemptions WHERE sale_id = ?",
                 (sale.sale_id,)) == [("stored_value", 3000)]
    assert "Stored value S$30.00 · balance left S$10.00" in sale.receipt_text
    # Spent: the next bill sees what is left.
    again = services.sales.quote(draft_for(member_id, "W5002", lines=CUT, payments=(
        PaymentInput("stored_value", "30.00"), PaymentInput("card", "38.00"))))
    assert again.errors["payments[0].amount"] == "S$30.00 chosen; balance is S$10.00"


def test_more_than_the_balance_or_without_a_balance_is_refused_on_the_payment(services, demo_db):
    member_id = _with_stored_value(demo_db, 2000)
    over = services.sales.quote(draft_for(member_id, "W5003", lines=CUT, payments=(
        PaymentInput("card", "38.00"), PaymentInput("stored_value", "30.00"))))
    assert over.errors["payments[1].amount"] == "S$30.00 chosen; balance is S$20.00"
    nobody = member_with_points(demo_db, 0, "GOLD")
    execute(demo_db, "UPDATE members SET stored_value_minor = 0 WHERE id = ?", (nobody,))
    empty = services.sales.quote(draft_for(nobody, "W5004", lines=CUT, payments=(
        PaymentInput("stored_value", "68.00"),)))
    assert empty.errors["payments[0].amount"] == "The stored-value balance is empty"
    twice = services.sales.quote(draft_for(member_id, "W5005", lines=CUT, payments=(
        PaymentInput("stored_value", "10.00"), PaymentInput("stored_value", "10.00"), PaymentInput("card", "48.00"))))
    assert twice.errors["payments[1].amount"] == ("Stored value is one payment per bill: change its amount "
                                                  "instead of adding it twice")


def test_refunds_give_stored_value_back_pro_rata_and_a_void_finishes_exactly(services, demo_db):
    member_id = _with_stored_value(demo_db, 5000)
    draft = draft_for(member_id, "W5006", lines=CUT, payments=(PaymentInput("stored_value", "33.33"),
                                                                PaymentInput("card", "34.67")))
    sale = services.sales.record(draft)
    assert _stored_value(demo_db, member_id) == 5000 - 3333
    first = services.sales.quote_reversal(sale.sale_id, void=False, amount="20.00")
    assert first.ok, first.errors
    # 33.33 × 20 / 68 = 9.8029…: 9.80 back now.
    assert first.reversal is not None and first.reversal.stored_value_restored.amount == Decimal("9.80")
    services.sales.reverse(sale.sale_id, void=False, amount="20.00", manager_id=STAFF["S03"], manager_pin="9999",
                           reason="one service not done")
    assert _stored_value(demo_db, member_id) == 5000 - 3333 + 980
    second = services.sales.reverse(sale.sale_id, void=False, amount="20.00", manager_id=STAFF["S03"],
                                    manager_pin="9999", reason="and another")
    # Cumulative: 33.33 × 40 / 68 = 19.6058…: 19.60 in all, so 9.80 more, not a second rounding.
    assert second.reversal.stored_value_restored.amount == Decimal("9.80")
    assert "Stored value given back: S$9.80" in second.receipt_text
    void = services.sales.reverse(sale.sale_id, void=True, manager_id=STAFF["S03"], manager_pin="9999",
                                  reason="customer changed her mind")
    assert void.reversal.stored_value_restored.amount == Decimal("13.73")  # the rest of the 33.33, to the cent
    assert _stored_value(demo_db, member_id) == 5000, "every cent spent is back, none more"


def test_a_void_gives_all_the_stored_value_back(services, demo_db):
    member_id = _with_stored_value(demo_db, 10000)
    sale = services.sales.record(draft_for(member_id, "W5007", lines=CUT, payments=(
        PaymentInput("stored_value", "68.00"),)))
    assert _stored_value(demo_db, member_id) == 3200
    quote = services.sales.quote_reversal(sale.sale_id, void=True)
    assert quote.reversal is not None and quote.reversal.stored_value_restored.amount == Decimal("68.00")
    services.sales.reverse(sale.sale_id, void=True, manager_id=STAFF["S03"], manager_pin="9999", reason="wrong")
    assert _stored_value(demo_db, member_id) == 10000
