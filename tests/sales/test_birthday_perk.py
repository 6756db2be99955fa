"""The tier's birthday-month discount is applied by the checkout where the programme says so (demo: Silver 10%,
Gold 15%, Platinum 20%; Classic's perk is a free trim, not a discount), keyed into WESS, and earns on the bill
after it."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from frontdesk.sales import LineInput, PaymentInput
from tests.sales.conftest import draft_for, execute, member_with_points, query

CUT = (LineInput("Ladies Cut & Blow", "SVC-CUT-L", "Hair", "1", "68.00"),)


def _birthday(db, member_id: int, month: int) -> None:  # type: ignore[no-untyped-def]
    execute(db, "UPDATE members SET birthday = ? WHERE id = ?", (f"1990-{month:02d}-15", member_id))


def test_gold_member_in_her_birthday_month_gets_15_percent_off(services, demo_db):
    member_id = member_with_points(demo_db, 0, "GOLD")
    month = datetime.now(timezone.utc).astimezone(services.sales.settings.zone).month
    _birthday(demo_db, member_id, month)
    quote = services.sales.quote(draft_for(member_id, "W6001", lines=CUT))
    perk = next(a for a in quote.redemptions if a.kind == "perk")
    assert perk.discount.amount == Decimal("10.20") and perk.name == "Gold birthday month 15% off"
    assert perk.wess_instruction == "Key a S$10.20 birthday discount into WESS (15% off, Gold)"
    assert quote.total is not None and quote.total.amount == Decimal("57.80")
    assert quote.to_pay is not None and quote.to_pay.amount == Decimal("57.80")
    sale = services.sales.record(draft_for(member_id, "W6001", lines=CUT, payments=(
        PaymentInput("card", "57.80"),)))
    assert query(demo_db, "SELECT kind, code, discount_minor FROM sale_redemptions WHERE sale_id = ?",
                 (sale.sale_id,)) == [("perk", "BIRTHDAY", 1020)]
    assert query(demo_db, "SELECT discount_minor, total_minor FROM sales WHERE id = ?", (sale.sale_id,)) == \
        [(1020, 5780)]
    assert "Gold birthday month 15% off" in sale.receipt_text and "-S$10.20" in sale.receipt_text
    assert not sale.provisional, "a perk burns nothing the server must confirm"


def test_no_discount_outside_the_birthday_month_or_for_a_tier_without_one(services, demo_db):
    month = datetime.now(timezone.utc).astimezone(services.sales.settings.zone).month
    gold = member_with_points(demo_db, 0, "GOLD")
    _birthday(demo_db, gold, month % 12 + 1)
    assert not [a for a in services.sales.quote(draft_for(gold, "W6002", lines=CUT)).redemptions if a.kind == "perk"]
    classic = member_with_points(demo_db, 0, "CLASSIC")
    _birthday(demo_db, classic, month)
    assert not [a for a in services.sales.quote(draft_for(classic, "W6003", lines=CUT)).redemptions
                if a.kind == "perk"]
