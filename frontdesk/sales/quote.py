"""Quoting a sale: every check, the points preview with its per-line explanation, each reward, voucher or
points-as-money redemption with the exact discount to key into WESS, and whether the payments add up. Reads only."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain.members import MemberProfile
from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.programme import (
    EarnContext,
    IssuedVoucher,
    MemberStanding,
    PointsPaymentQuote,
    Programme,
    RedemptionRefused,
    RefusalCode,
    RewardKind,
    RewardQuote,
    SaleDraft,
    SaleError,
    StoredValueQuote,
    Tender,
    check_tenders,
    preview_earning,
    quote_points_payment,
    quote_reward,
    quote_stored_value_payment,
    quote_voucher,
    validate_sale,
)
from frontdesk.domain.programme.arithmetic import format_points
from frontdesk.loyalty.programme import (
    fully_reversed_sale_ids,
    local_day_bounds,
    reward_use_counts,
)
from frontdesk.sales.form import engine_path, parse_lines, parse_payments, sentence
from frontdesk.sales.model import (
    _DRAFT_ID,
    _RECEIPT_SHAPE,
    FUTURE_TOLERANCE,
    AppliedRedemption,
    RedemptionInput,
    SaleQuote,
    SaleRequest,
    SaleSummary,
)
from frontdesk.store.members import load_profile
from frontdesk.store.models import LedgerEntry, Member, MemberVoucher, Sale, Staff


def quote_sale(session: Session, draft: SaleRequest, *, settings: Settings, programme: Programme,
               online: bool, now: datetime) -> SaleQuote:
    """Every problem by field path, the points preview, each redemption and the tender check. Writes nothing."""
    currency = programme.currency
    errors: dict[str, str] = {}
    zero = Money.zero(currency)

    if not _DRAFT_ID.match(draft.draft_id or ""):
        errors["draft"] = "This checkout has no valid id: close it and start the sale again"
    profile = load_profile(session, draft.member_id, recent_limit=0)
    if profile is None:
        errors["member"] = "This member is no longer in the local cache"
    elif profile.status == "inactive":
        errors["member"] = f"{profile.name}'s membership is inactive: the sale cannot earn or redeem"
    elif profile.status == "conflict":
        # Sending it could credit another member (the one the server knows by this phone or email).
        errors["member"] = (f"The loyalty server refused {profile.name}'s enrolment (the phone or email belongs to "
                            f"another member): a manager must resolve it in the sync panel before this member "
                            f"takes sales")

    receipt_no = (draft.receipt_no or "").strip()
    earlier = None
    voided_sale = None
    if not receipt_no:
        errors["receipt_no"] = "Enter the WESS receipt number"
    elif not _RECEIPT_SHAPE.match(receipt_no):
        errors["receipt_no"] = "A receipt number is letters and digits (up to 64), as printed by WESS"
    else:
        rows = session.scalars(select(Sale).where(
            Sale.kind == "sale", Sale.outlet_code == (draft.outlet_code or settings.outlet_code),
            Sale.receipt_no == receipt_no).order_by(Sale.occurred_at.desc())).all()
        row = next((r for r in rows if not r.voided), None)
        if row is not None:
            earlier = summarise_sale(session, row)
            errors["receipt_no"] = (f"Receipt {receipt_no} is already recorded: {earlier.describe(settings)}. "
                                    "To record it again (say, for another member), void it first (F9)")
        elif rows:
            voided_sale = summarise_sale(session, rows[0])

    staff_row = session.get(Staff, draft.staff_id) if draft.staff_id is not None else None
    if staff_row is None or not staff_row.active:
        errors["staff"] = "Pick who served the customer"

    typed_at = draft.occurred_at or now
    occurred_at: datetime | None = typed_at
    if typed_at.tzinfo is None:
        errors["occurred_at"] = "The time needs a time zone"
        occurred_at = None
    elif typed_at - now > FUTURE_TOLERANCE:
        errors["occurred_at"] = "That time is in the future"
    today = (occurred_at or now).astimezone(settings.zone).date()

    lines = parse_lines(draft, currency, errors)
    bill_total = None
    if lines is not None:
        bill_total = zero
        for line in lines:
            bill_total = bill_total + line.net + line.tax + line.service_charge

    # Redemptions: discounts first, in the order applied, then points as money on what is left.
    available = profile.available_points if profile else 0
    spendable = available
    if not online and profile is not None:
        allowance_left = max(0, settings.offline_redeem_allowance_points
                             - provisional_burns(session, profile.id))
        spendable = min(available, allowance_left)
    standing = MemberStanding(tier_code=profile.tier_code if profile else None, points_balance=available)
    applied: list[AppliedRedemption] = []
    discount_total = zero
    points_left = spendable
    remaining = bill_total
    used_counts = reward_use_counts(session, draft.member_id) if profile else {}
    vouchers_seen: set[str] = set()
    order = [i for i, r in enumerate(draft.redemptions) if r.kind != "points"] + \
            [i for i, r in enumerate(draft.redemptions) if r.kind == "points"]
    points_payment = zero
    if sum(1 for r in draft.redemptions if r.kind == "points") > 1:
        errors["redemptions"] = "Points can pay once per bill: change the amount instead of adding it twice"
    # The tier's birthday-month discount comes off the bill first; rewards and points apply to what is left.
    perk = _birthday_perk(programme, profile, remaining, today)
    if perk is not None:
        applied.append(perk)
        discount_total = discount_total + perk.discount
        remaining = remaining - perk.discount if remaining is not None else None
    for index in order:
        request = draft.redemptions[index]
        path = f"redemptions[{index}]"
        if remaining is None or profile is None:
            continue  # the bill itself has problems; they are shown where they are
        result = _redeem(session, settings, programme, request, remaining, standing, points_left, used_counts,
                              vouchers_seen, profile, today, online)
        if isinstance(result, str):
            if not online and available > spendable and "available" in result:
                result += (f" (offline: at most {format_points(spendable)} can be redeemed until the loyalty "
                           "server confirms)")
            errors[path] = result
            continue
        applied_one = replace(result, index=index)
        applied.append(applied_one)
        points_left -= applied_one.points
        if applied_one.kind == "points":
            points_payment = points_payment + applied_one.amount
        else:
            discount_total = discount_total + applied_one.discount
            remaining = remaining - applied_one.discount
            if applied_one.kind == "reward":
                key = applied_one.code.casefold()
                used_counts[key] = used_counts.get(key, 0) + 1
    applied.sort(key=lambda a: a.index)

    preview = None
    total = None
    if lines is not None and occurred_at is not None:
        sale_draft = SaleDraft(outlet=draft.outlet_code or settings.outlet_code, sales_mode=draft.sales_mode,
                               occurred_at=occurred_at,
                               currency=currency, lines=tuple(lines), tips=zero, bill_discount=discount_total)
        problems = validate_sale(sale_draft, currency)
        for problem in problems:
            errors.setdefault(engine_path(problem.field), sentence(problem.reason))
        if not problems:
            total = sale_draft.total
            if profile is not None:
                context = earn_context(session, settings, profile.id, today)
                try:
                    preview = preview_earning(programme, sale_draft, standing, context)
                except SaleError as error:
                    errors.setdefault(engine_path(error.field), sentence(error.reason))

    to_pay = None
    tenders = None
    payments = parse_payments(draft, currency, errors)
    stored_balance = Money.from_minor(profile.stored_value_minor, currency) if profile is not None else zero
    stored_max = zero
    stored_used = zero
    has_stored_value = not stored_balance.is_zero() and not stored_balance.is_negative()
    if total is not None and programme.stored_value is not None and has_stored_value:
        most = quote_stored_value_payment(programme, stored_balance, total)
        if isinstance(most, StoredValueQuote):
            stored_max = most.max_amount
    if total is not None and payments is not None:
        stored = [index for index, tender in enumerate(payments) if tender.method == "stored_value"]
        if len(stored) > 1:
            errors[f"payments[{stored[1]}].amount"] = ("Stored value is one payment per bill: change its amount "
                                                       "instead of adding it twice")
        elif stored:
            index = stored[0]
            checked = quote_stored_value_payment(programme, stored_balance, total,
                                                 requested_amount=payments[index].amount)
            if isinstance(checked, StoredValueQuote):
                stored_used = checked.amount
            else:
                errors[f"payments[{index}].amount"] = sentence(checked.reason)
    if total is not None:
        to_pay = total - points_payment
        if payments is not None:
            offered = list(payments)
            if not points_payment.is_zero():
                offered.append(Tender("points", points_payment))
            if offered or not total.is_zero():
                tenders = check_tenders(total, offered)
                if not tenders.ok and "payments" not in errors:
                    errors["payments"] = tenders.message if offered else (
                        f"Add how the customer paid ({to_pay.display()})")

    redeemed = sum(a.points for a in applied)
    earned = preview.total_points if preview else 0
    new_balance = available - redeemed + earned if preview is not None else None
    # Offline, what the server must still confirm is provisional; the programme's own perk burns nothing.
    provisional = not online and any(a.kind != "perk" for a in applied)
    if provisional:
        applied = [replace(a, provisional=a.kind != "perk") for a in applied]
    return SaleQuote(
        draft_id=draft.draft_id, errors=errors, member=profile, currency=currency, bill_total=bill_total,
        discount_total=discount_total, total=total, points_payment=points_payment, to_pay=to_pay,
        tenders=tenders, preview=preview, redemptions=tuple(applied), points_available=available,
        points_spendable=spendable, points_redeemed=redeemed, new_balance=new_balance, online=online,
        provisional=provisional, earlier_sale=earlier, occurred_at=occurred_at, voided_sale=voided_sale,
        stored_value_balance=stored_balance, stored_value_max=stored_max, stored_value_used=stored_used,
    )

def _redeem(session: Session, settings: Settings, programme: Programme, request: RedemptionInput, bill: Money,
            standing: MemberStanding, points_left: int, used_counts: dict[str, int], vouchers_seen: set[str],
            profile: MemberProfile, today: date, online: bool) -> AppliedRedemption | str:
    currency = programme.currency
    zero = Money.zero(currency)
    code = (request.code or "").strip()
    if request.kind == "reward":
        if not code:
            return "Pick a reward"
        quote = quote_reward(programme, code, bill, standing, used_counts.get(code.casefold(), 0), today,
                             points_available=points_left)
        if isinstance(quote, RedemptionRefused):
            return sentence(quote.reason)
        return _applied_discount(quote, online)
    if request.kind == "voucher":
        if not code:
            return "Type or pick the voucher code"
        if code.casefold() in vouchers_seen:
            return f"Voucher {code} is already on this bill"
        row = session.scalar(select(MemberVoucher).where(
            MemberVoucher.member_id == profile.id, func.lower(MemberVoucher.code) == code.casefold()))
        if row is None:
            return f"Voucher {code} is not one of {profile.name}'s vouchers"
        vouchers_seen.add(code.casefold())
        quote = quote_voucher(programme, _issued_voucher(row, currency, settings), bill, today)
        if isinstance(quote, RedemptionRefused):
            return sentence(quote.reason)
        return _applied_discount(quote, online)
    if request.kind == "points":
        requested = None
        if (request.amount or "").strip():
            try:
                requested = Money.parse(request.amount, currency)
            except MoneyError as error:
                return sentence(str(error))
        payment = quote_points_payment(programme, points_left, bill, requested_amount=requested)
        if isinstance(payment, RedemptionRefused):
            if payment.code is RefusalCode.BELOW_MINIMUM_POINTS and points_left < standing.points_balance:
                return sentence(payment.reason) + " (offline allowance)"
            return sentence(payment.reason)
        assert isinstance(payment, PointsPaymentQuote)
        return AppliedRedemption(
            index=0, kind="points", code="POINTS", name=f"Paid with points ({format_points(payment.points)})",
            points=payment.points, discount=zero, amount=payment.amount, free_sku=None, provisional=not online,
            wess_instruction=f"Key {payment.amount.display()} as a points payment in WESS", note=payment.note)
    return "Unknown kind of redemption"

PERK_INDEX = 10_000  # after every typed redemption: a perk is the programme's, not a row of the form


def _birthday_perk(programme: Programme, profile: MemberProfile | None, bill: Money | None,
                   today: date) -> AppliedRedemption | None:
    """The tier's birthday-month discount, when the programme gives one and it is the member's birthday month:
    a percentage of what is left of the bill after rewards, rounded down to the cent, keyed into WESS."""
    if profile is None or bill is None or bill.is_zero() or bill.is_negative():
        return None
    tier = programme.tier(profile.tier_code)
    percent = tier.birthday_discount_percent if tier is not None else None
    if percent is None or not profile.birthday_this_month(today):
        return None
    minor = bill.minor * percent / 100
    discount = Money.from_minor(int(minor.to_integral_value(rounding="ROUND_DOWN")), bill.currency)
    if discount.is_zero():
        return None
    shown = format(percent.normalize(), "f")
    assert tier is not None
    return AppliedRedemption(
        index=PERK_INDEX, kind="perk", code="BIRTHDAY",
        name=f"{tier.name} birthday month {shown}% off", points=0, discount=discount,
        amount=Money.zero(bill.currency), free_sku=None, provisional=False,
        wess_instruction=f"Key a {discount.display()} birthday discount into WESS ({shown}% off, {tier.name})")


def earn_context(session: Session, settings: Settings, member_id: int, day: date) -> EarnContext:
    start, end = local_day_bounds(day, settings.zone)
    rows = session.execute(select(Sale.id, Sale.points_earned, Sale.server_points).where(
        Sale.member_id == member_id, Sale.kind == "sale", Sale.status != "rejected",
        Sale.occurred_at >= start, Sale.occurred_at < end)).all()
    reversed_ids = fully_reversed_sale_ids(session, [r[0] for r in rows])
    kept = [r for r in rows if r[0] not in reversed_ids]
    earned = sum((server if server is not None else local) for _id, local, server in kept)
    return EarnContext(visited_today=bool(kept), points_earned_today=max(0, earned))

def provisional_burns(session: Session, member_id: int) -> int:
    """Points this counter redeemed offline for the member that the server has not confirmed yet (net of restores
    by voids of those sales)."""
    value = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).join(Sale, LedgerEntry.sale_id == Sale.id).where(
            LedgerEntry.member_id == member_id, LedgerEntry.status == "pending",
            LedgerEntry.kind.in_(("redeem", "restore")), Sale.provisional.is_(True)))
    return max(0, -int(value or 0))

def summarise_sale(session: Session, row: Sale) -> SaleSummary:
    member = session.get(Member, row.member_id) if row.member_id else None
    staff = session.get(Staff, row.staff_id) if row.staff_id else None
    member_name = ""
    if member is not None:
        member_name = member.display_name or f"{member.first_name} {member.last_name}".strip()
    return SaleSummary(id=row.id, kind=row.kind, receipt_no=row.receipt_no, outlet_code=row.outlet_code,
                       occurred_at=row.occurred_at, member_id=row.member_id, member_name=member_name,
                       staff_name=staff.name if staff else "", total=Money.from_minor(row.total_minor, row.currency),
                       points_earned=row.points_earned, points_redeemed=row.points_redeemed, status=row.status,
                       provisional=row.provisional, receipt_text=row.receipt_text)

def _issued_voucher(row: MemberVoucher, currency: str, settings: Settings) -> IssuedVoucher:
    kind = {"amount": RewardKind.AMOUNT, "percentage": RewardKind.PERCENT, "sku": RewardKind.FREE_SKU}.get(
        row.method, RewardKind.AMOUNT)
    amount = Money.from_minor(row.amount_minor, currency) if row.amount_minor else None
    percent = None
    if row.percentage:
        try:
            percent = Decimal(row.percentage)
        except ArithmeticError:
            percent = None
    until = row.expires_at.astimezone(settings.zone).date() if row.expires_at else None
    return IssuedVoucher(code=row.code, name=row.name, kind=kind,
                         amount=amount if kind is RewardKind.AMOUNT else None, percent=percent,
                         sku=row.sku, value=amount if kind is RewardKind.FREE_SKU else None, valid_until=until,
                         used=row.status != "available")

def _applied_discount(quote: RewardQuote, online: bool) -> AppliedRedemption:
    label = "voucher" if quote.source == "voucher" else "reward"
    return AppliedRedemption(
        index=0, kind=label, code=quote.code, name=quote.name, points=quote.points_cost, discount=quote.discount,
        amount=Money.zero(quote.discount.currency), free_sku=quote.free_sku, provisional=not online,
        wess_instruction=f"Key a {quote.discount.display()} discount into WESS ({quote.code})", note=quote.note)