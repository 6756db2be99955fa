"""Pulling from the loyalty API into the counter's cache: the programme, members (incrementally), one member on lookup.

The server's numbers win: a pulled balance replaces the cached one, and the counter's own unsynced effects are the
`pending` ledger rows shown on top of it. Two guards keep a pull from undoing newer knowledge:
- a member whose outbox entry was delivered while the pull's request was in flight keeps the balance that delivery
  wrote (it is newer than the pulled snapshot);
- a voucher used by a sale still waiting in the outbox stays "used" even if the server still lists it.

The member feed (`business/list/user`) is paged by following `next_url` and resumed from a high-water mark of the
largest `updated_at` seen (inclusive, so a member updated within the same second is fetched again rather than
missed). The mark is saved only once a whole pass has been read, so a pass cut short is simply read again.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money, MoneyError
from frontdesk.store.members import MemberFields, add_member, update_member
from frontdesk.store.models import (
    Member,
    MemberCode,
    MemberVoucher,
    OutboxEntry,
    Outlet,
    ProgrammeVersion,
    SaleRedemption,
    SyncState,
    Tier,
)
from frontdesk.store.writer import DatabaseExecutor
from sync.client import LoyaltyClient
from sync.errors import BadResponse, NotFound

log = logging.getLogger(__name__)

PROGRAMME_ETAG = "programme_etag"
MEMBERS_HIGH_WATER = "members_high_water"
TIER_PALETTE = ["#7a8794", "#8e9aa6", "#b8862b", "#5b5f97", "#2f7d6d", "#9b3d5a"]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ProgrammePull:
    changed: bool
    version: str | None
    available: bool = True  # False: the server has no programme endpoint (use the installed programme file)


@dataclass
class MembersPull:
    pages: int = 0
    created: int = 0
    updated: int = 0
    high_water: str | None = None
    skipped: list[str] = field(default_factory=list)  # malformed records: "member <id>: why" (no personal data)
    stopped: str | None = None  # the pass ended early: page bound reached, or the feed repeats itself


@dataclass(frozen=True)
class MemberRefresh:
    member_id: int
    found: bool
    balance: int | None = None
    tier_code: str | None = None
    vouchers: tuple[str, ...] = ()
    balance_kept: bool = False  # a delivery landed meanwhile; its newer balance was kept


@dataclass
class _Context:
    tiers_by_name: dict[str, str] = field(default_factory=dict)


class PullError(Exception):
    """The server's answer cannot be used (e.g. a programme this version cannot read); the cache is unchanged."""


def _inline(fn: Callable[[], Any]) -> Any:
    return fn()


MAX_SERVER_ID = 2**53
CLOCK_SKEW = timedelta(minutes=10)  # a member's updated_at beyond the clock plus this is not believed
TEXT_FIELDS = ("first_name", "last_name", "display_name", "email", "phone", "phone_code", "external_member_id",
               "qr_code", "updated_at")


def malformed(user: Any) -> str | None:
    """Why a member record from the feed cannot be used (None: it can). Says nothing personal."""
    if not isinstance(user, dict):
        return "not an object"
    raw = user.get("id")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit() \
            or not 0 < int(raw) < MAX_SERVER_ID:
        return "its id is not a member id"
    for name in TEXT_FIELDS:
        value = user.get(name)
        if value is not None and not isinstance(value, (str, int)) or isinstance(value, bool):
            return f"{name} has the wrong type"
        if isinstance(value, str) and len(value) > 320:
            return f"{name} is too long"
    points = user.get("points")
    if points is not None and not (isinstance(points, list) and all(isinstance(p, dict) for p in points)):
        return "points has the wrong shape"
    if points and _int(points[0].get("points")) is None and points[0].get("points") is not None:
        return "the balance is not a number"
    for name in ("member", ):
        if user.get(name) is not None and not isinstance(user.get(name), dict):
            return f"{name} has the wrong shape"
    if user.get("member_tiers") is not None and not isinstance(user.get("member_tiers"), list):
        return "member_tiers has the wrong shape"
    return None


def clamp_mark(stamp: str, now: datetime) -> str | None:
    """A feed time as a high-water mark: unreadable ones are ignored; the future is clamped to now + skew."""
    try:
        moment = datetime.fromisoformat(stamp.strip().replace("T", " ").replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    limit = now + CLOCK_SKEW
    if moment > limit:
        return limit.strftime("%Y-%m-%d %H:%M:%S")
    return stamp


class Puller:
    def __init__(self, engine: Engine, client: LoyaltyClient, *, region: str = "SG", page_limit: int = 200,
                 currency: str = "SGD", max_pages: int = 200, clock: Any = None,
                 db_executor: DatabaseExecutor | None = None) -> None:
        self.engine = engine
        # Writes queue on the process's database executor when one is given (the app's), never beside it.
        self._db: Callable[[Callable[[], Any]], Any] = db_executor.call if db_executor is not None else _inline
        self.client = client
        self.region = region
        self.page_limit = page_limit
        self.currency = currency
        self.max_pages = max_pages  # per pass: an endless feed ends here, and deliveries go on between passes
        self.clock = clock or utc_now

    # --- programme ------------------------------------------------------------------------------------------
    def pull_programme(self) -> ProgrammePull:
        from frontdesk.domain.programme import ProgrammeError, programme_from_dict

        etag = self._state(PROGRAMME_ETAG)
        try:
            response = self.client.programme(etag)
        except NotFound:
            return ProgrammePull(changed=False, version=etag, available=False)
        if response.status == 304:
            return ProgrammePull(changed=False, version=etag)
        body = response.data
        definition = body.get("program")
        if not isinstance(definition, dict):
            raise BadResponse("the programme answer has no programme")
        try:
            programme = programme_from_dict(definition)
        except ProgrammeError as error:
            raise PullError(f"the server's programme cannot be used here: {error}") from None
        version = str(body.get("version") or body.get("etag") or
                      response.headers.get("ETag", "").strip('"') or programme.version)
        def write() -> None:
            with Session(self.engine) as session, session.begin():
                self._store_programme(session, version, definition, programme, body)

        self._db(write)
        return ProgrammePull(changed=True, version=version)

    def _store_programme(self, session: Session, version: str, definition: dict[str, Any], programme: Any,
                         body: dict[str, Any]) -> None:
        session.execute(update(ProgrammeVersion).values(active=False))
        session.add(ProgrammeVersion(version=version, source="server", definition=definition, active=True,
                                     fetched_at=utc_now()))
        existing = {tier.code: tier for tier in session.scalars(select(Tier))}
        for rank, level in enumerate(programme.tiers.levels):
            tier = existing.get(level.code)
            if tier is None:
                session.add(Tier(code=level.code, name=level.name, rank=rank,
                                 colour=TIER_PALETTE[rank % len(TIER_PALETTE)]))
            else:
                tier.name, tier.rank = level.name, rank
        for outlet in body.get("outlets") or []:
            if not isinstance(outlet, dict) or not outlet.get("code"):
                continue
            row = session.get(Outlet, str(outlet["code"]))
            if row is None:
                session.add(Outlet(code=str(outlet["code"]), name=str(outlet.get("name") or outlet["code"]),
                                   timezone=str(outlet.get("timezone") or "Asia/Singapore")))
            else:
                row.name = str(outlet.get("name") or row.name)
        self._set_state(session, PROGRAMME_ETAG, version)

    # --- members --------------------------------------------------------------------------------------------
    def pull_members(self, *, max_pages: int | None = None) -> MembersPull:
        """One pass of the member feed from the high-water mark, bounded in pages, skipping malformed records."""
        result = MembersPull()
        start_mark = self._state(MEMBERS_HIGH_WATER)
        high_water = start_mark
        context = self._context()
        bound = min(max_pages or self.max_pages, self.max_pages)
        seen_pages: set[tuple[Any, ...]] = set()
        now = self.clock()
        complete = True
        for page in self.client.list_users_pages(from_date=start_mark, limit=self.page_limit):
            records = page.get("data", [])
            signature = tuple((u.get("id"), u.get("updated_at")) if isinstance(u, dict) else None for u in records)
            if signature and signature in seen_pages:
                result.stopped = "the member feed repeats itself"
                log.warning("member feed: the same page came back again; pass ended")
                complete = False
                break
            seen_pages.add(signature)
            users = []
            for user in records:
                problem = malformed(user)
                if problem is not None:
                    ident = user.get("id") if isinstance(user, dict) else None
                    label = str(ident)[:20] if isinstance(ident, (int, str)) else "?"
                    result.skipped.append(f"member {label}: {problem}")
                    log.warning("member feed: skipped member %s: %s", label, problem)
                    continue
                users.append(user)
            marker = self._delivery_marker()

            def write(users: list[dict[str, Any]] = users, marker: datetime | None = marker) -> list[bool]:
                with Session(self.engine) as session, session.begin():
                    changed = self._delivered_since(session, marker)
                    return [self._upsert(session, user, context, keep_balance_of=changed) for user in users]

            for created, user in zip(self._db(write), users):
                if created:
                    result.created += 1
                else:
                    result.updated += 1
                stamp = user.get("updated_at")
                mark = clamp_mark(stamp, now) if isinstance(stamp, str) else None
                if mark is not None and (high_water is None or mark > high_water):
                    high_water = mark
            result.pages += 1
            if result.pages >= bound:
                result.stopped = f"stopped after {bound} pages"
                complete = False
                break
        # The feed is ordered by updated_at and the mark is inclusive, so a pass cut short resumes from it.
        if high_water and high_water != start_mark and (complete or result.stopped != "the member feed repeats "
                                                                                      "itself"):
            mark = high_water

            def save() -> None:
                with Session(self.engine) as session, session.begin():
                    self._set_state(session, MEMBERS_HIGH_WATER, mark)

            self._db(save)
        result.high_water = high_water
        return result

    def refresh_member(self, member_id: int) -> MemberRefresh:
        """Fetch one member from the server (balance, tier, vouchers) and update the cache."""
        with Session(self.engine) as session:
            member = session.get(Member, member_id)
            if member is None:
                return MemberRefresh(member_id, found=False)
            lookup = self._lookup(member)
        if lookup is None:
            return MemberRefresh(member_id, found=False)
        marker = self._delivery_marker()
        try:
            user = self.client.user_show(**lookup, list_redeemable=True, list_point_conversion=True)
        except NotFound:
            return MemberRefresh(member_id, found=False)
        problem = malformed(user)
        if problem is not None:
            raise BadResponse(f"the server's record of member {member_id} cannot be used: {problem}")
        context = self._context()

        def write() -> MemberRefresh:
            return self._apply_refresh(member_id, user, context, marker)

        return self._db(write)

    def _apply_refresh(self, member_id: int, user: dict[str, Any], context: _Context,
                       marker: datetime | None) -> MemberRefresh:
        with Session(self.engine) as session, session.begin():
            member = session.get(Member, member_id)
            if member is None:
                return MemberRefresh(member_id, found=False)
            changed = self._delivered_since(session, marker)
            if member.server_id is not None and user.get("id") != member.server_id:
                raise BadResponse(f"asked for member {member.server_id}, the server answered {user.get('id')}")
            if member.server_id is None and not self._is_same_member(session, member, user):
                # Found by a phone or email someone else holds on the server (a child on a parent's phone):
                # never show another member's points and rewards on this member's panel.
                return MemberRefresh(member_id, found=False)
            self._apply(session, member, user, context, keep_balance=member_id in changed)
            codes = self._apply_vouchers(session, member, user.get("redeemable_list"))
            return MemberRefresh(member_id, found=True, balance=member.points_balance, tier_code=member.tier_code,
                                 vouchers=tuple(codes), balance_kept=member_id in changed)

    # --- internals ------------------------------------------------------------------------------------------
    @staticmethod
    def _is_same_member(session: Session, member: Member, user: dict[str, Any]) -> bool:
        server_id = int(user["id"])
        holder = session.scalar(select(Member.id).where(Member.server_id == server_id))
        if holder is not None and holder != member.id:
            return False
        external = user.get("external_member_id")
        if member.member_no and external is not None and str(external) != member.member_no:
            return False
        return member.status != "conflict"

    def _lookup(self, member: Member) -> dict[str, Any] | None:
        if member.server_id is not None:
            return {"user_id": member.server_id}
        parsed = phones.normalise(member.phone_e164 or "", self.region) if member.phone_e164 else None
        if parsed is not None:
            return {"phone": parsed.national, "phone_code": parsed.region}
        if member.email:
            return {"email": member.email}
        return None

    def _context(self) -> _Context:
        with Session(self.engine) as session:
            tiers = session.execute(select(Tier.code, Tier.name)).all()
        return _Context(tiers_by_name={name.casefold(): code for code, name in tiers})

    def _delivery_marker(self) -> datetime | None:
        with Session(self.engine) as session:
            return session.scalar(select(func.max(OutboxEntry.delivered_at)))

    @staticmethod
    def _delivered_since(session: Session, marker: datetime | None) -> set[int]:
        query = select(OutboxEntry.member_id).where(OutboxEntry.status == "done", OutboxEntry.member_id.isnot(None))
        if marker is not None:
            query = query.where(OutboxEntry.delivered_at > marker)
        return {member_id for member_id in session.scalars(query.distinct()) if member_id is not None}

    def _upsert(self, session: Session, user: dict[str, Any], context: _Context, keep_balance_of: set[int]) -> bool:
        server_id = int(user["id"])
        member = session.scalar(select(Member).where(Member.server_id == server_id))
        if member is None and user.get("external_member_id"):
            member = session.scalar(select(Member).where(Member.member_no == str(user["external_member_id"]),
                                                         Member.server_id.is_(None)))
        if member is None:
            fields = self._fields(user, None, context)
            codes = []
            qr = user.get("qr_code")
            if isinstance(qr, str) and qr and session.get(MemberCode, qr) is None:
                codes.append((qr, "eber"))
            add_member(session, fields, self.region, codes)
            return True
        self._apply(session, member, user, context, keep_balance=member.id in keep_balance_of)
        return False

    def _apply(self, session: Session, member: Member, user: dict[str, Any], context: _Context,
               keep_balance: bool) -> None:
        fields = self._fields(user, member, context)
        if keep_balance:
            fields.points_balance = member.points_balance
        update_member(session, member, fields, self.region)
        qr = user.get("qr_code")
        if isinstance(qr, str) and qr and session.get(MemberCode, qr) is None:
            session.add(MemberCode(code=qr, member_id=member.id, kind="eber"))

    def _fields(self, user: dict[str, Any], existing: Member | None, context: _Context) -> MemberFields:
        """The server's view of a member, keeping what only the counter knows (notes, consent)."""
        base = MemberFields() if existing is None else MemberFields(
            first_name=existing.first_name, last_name=existing.last_name, display_name=existing.display_name,
            phone_raw=existing.phone_e164 or existing.phone_raw, email=existing.email, member_no=existing.member_no,
            server_id=existing.server_id, tier_code=existing.tier_code, points_balance=existing.points_balance,
            lifetime_points=existing.lifetime_points, points_expiring=existing.points_expiring,
            points_expiring_on=existing.points_expiring_on, birthday=existing.birthday, notes=existing.notes,
            marketing_consent=existing.marketing_consent, status=existing.status,
            window_spend_minor=existing.window_spend_minor, window_points=existing.window_points,
            tier_expires_on=existing.tier_expires_on, visits_count=existing.visits_count,
            last_visit_at=existing.last_visit_at, server_updated_at=existing.server_updated_at)
        base.server_id = int(user["id"])
        base.status = "active"
        for name in ("first_name", "last_name", "display_name"):
            if isinstance(user.get(name), str):
                setattr(base, name, user[name])
        if user.get("email") is not None:
            base.email = str(user["email"]) or None
        phone = user.get("phone")
        if phone:
            parsed = phones.normalise(str(phone), str(user.get("phone_code") or self.region))
            if parsed is not None:
                base.phone_raw = parsed.e164
        if user.get("external_member_id"):
            base.member_no = str(user["external_member_id"])
        tier = _tier_code(user, context)
        if tier:
            base.tier_code = tier
        points = user.get("points")
        if isinstance(points, list) and points and isinstance(points[0], dict):
            balance = _int(points[0].get("points"))
            if balance is not None:
                base.points_balance = balance
            visits = _int(points[0].get("num_visits"))
            if visits is not None:
                base.visits_count = visits
            last_visit = _time(points[0].get("friendly_last_visit_at"))
            if last_visit is not None:
                base.last_visit_at = last_visit
        found = user.get("member")
        detail: dict[str, Any] = found if isinstance(found, dict) else {}
        lifetime = _int(detail.get("lifetime_points"))
        if lifetime is not None:
            base.lifetime_points = lifetime
        if "expiring_coming_points" in detail:
            base.points_expiring = _int(detail.get("expiring_coming_points")) or 0
            base.points_expiring_on = _date(detail.get("expiring_coming_date"))
        window = self._minor(detail.get("window_spending"))
        if window is not None:
            base.window_spend_minor = window
        year, month, day = (_int(user.get(k)) for k in ("birth_year", "birth_month", "birth_day"))
        if year and month and day:
            try:
                base.birthday = date(year, month, day)
            except ValueError:
                pass
        updated = _time(user.get("updated_at"))
        if updated is not None:
            base.server_updated_at = updated
        return base

    def _minor(self, value: Any) -> int | None:
        if value is None:
            return None
        try:
            return Money.parse(str(value), self.currency).minor
        except MoneyError:
            return None

    def _apply_vouchers(self, session: Session, member: Member, items: Any) -> list[str]:
        if not isinstance(items, list):
            return []
        waiting = self._codes_in_unsent_sales(session, member.id)
        listed: list[str] = []
        for item in items:
            if not isinstance(item, dict) or item.get("redeem_type") != "issued_reward" or not item.get("redeem_code"):
                continue
            code = str(item["redeem_code"])
            method = str(item.get("pos_redeem_method") or "amount")
            if item.get("pos_redeem_sku") and method != "percentage":
                method = "sku" if not item.get("pos_redeem_amount") else method
            voucher = session.get(MemberVoucher, code)
            if voucher is not None and voucher.member_id != member.id:
                log.warning("voucher %s belongs to member %s locally, not %s; left alone", code, voucher.member_id,
                            member.id)
                continue
            if voucher is None:
                voucher = MemberVoucher(code=code, member_id=member.id)
                session.add(voucher)
            voucher.name = str(item.get("redeem_name") or code)[:200]
            voucher.method = "percentage" if method == "percentage" else ("sku" if method == "sku" else "amount")
            voucher.amount_minor = self._minor(item.get("pos_redeem_amount")) or 0
            percentage = item.get("pos_redeem_percentage")
            voucher.percentage = str(percentage) if percentage not in (None, "") else None
            voucher.sku = str(item["pos_redeem_sku"]) if item.get("pos_redeem_sku") else None
            voucher.expires_at = _time(item.get("expiry_date_tz"))
            voucher.status = "used" if code in waiting else "available"
            listed.append(code)
        now = utc_now()
        for voucher in session.scalars(select(MemberVoucher).where(MemberVoucher.member_id == member.id,
                                                                   MemberVoucher.status == "available")):
            if voucher.code not in listed:
                voucher.status = "expired" if voucher.expires_at and voucher.expires_at < now else "used"
        session.flush()
        return listed

    @staticmethod
    def _codes_in_unsent_sales(session: Session, member_id: int) -> set[str]:
        """Codes redeemed by this member's sales still on their way (queued, in doubt or parked)."""
        codes: set[str] = set()
        for sale_id, payload in session.execute(select(OutboxEntry.sale_id, OutboxEntry.payload).where(
                OutboxEntry.member_id == member_id, OutboxEntry.kind == "sale",
                OutboxEntry.status.in_(("pending", "in_doubt", "parked")))):
            if isinstance(payload, dict):
                codes.update(str(code) for code in payload.get("redeem_codes") or [])
            if sale_id is not None:
                codes.update(session.scalars(select(SaleRedemption.code).where(
                    SaleRedemption.sale_id == sale_id, SaleRedemption.kind.in_(("reward", "voucher")),
                    SaleRedemption.status != "refused")))
        return codes

    def _state(self, key: str) -> str | None:
        with Session(self.engine) as session:
            row = session.get(SyncState, key)
            return row.value if row else None

    @staticmethod
    def _set_state(session: Session, key: str, value: str) -> None:
        row = session.get(SyncState, key)
        if row is None:
            session.add(SyncState(key=key, value=value, updated_at=utc_now()))
        else:
            row.value = value
            row.updated_at = utc_now()


def _tier_code(user: dict[str, Any], context: _Context) -> str | None:
    tiers = user.get("member_tiers")
    if not isinstance(tiers, list) or not tiers or not isinstance(tiers[0], dict):
        return None
    first = tiers[0]
    if first.get("code"):
        return str(first["code"])
    name = str(first.get("name") or "")
    return context.tiers_by_name.get(name.casefold()) or (name.upper() or None)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("T", " ")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _date(value: Any) -> date | None:
    moment = _time(value)
    return moment.date() if moment else None
