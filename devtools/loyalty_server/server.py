"""A local reference server that speaks the loyalty API contract (shared/reference/eber-api.md, sections 6 and 7).

For the demo and the tests: a real HTTP server (Flask served by waitress) persisting to its own SQLite
file, seeded with the same demo members as the counter's demo database (same generator, same seed, same ids) and
computing points with the same programme engine as the app (`frontdesk.domain.programme`).

    python -m devtools.loyalty_server --host 127.0.0.1 --port 0 --db /tmp/server.sqlite --api-key secret

prints the API base URL (`http://127.0.0.1:<port>/v3/public`) as the first line of stdout. Every route answers under
both `/v3/public/...` and `/api/v3/...`.

Contract choices where the public material is silent (all marked [GUESS] in the reference):
- Inputs from the query string, a form body and a JSON body are merged (body wins).
- A sale's lines come from `item_data_json` (`name, sku, category, quantity, unit_amount, total_amount`, and
  optionally our `discount`, `tax`, `service_charge` per line). `discount` on the bill is a bill discount; bill-level
  `tax` and `service_charge` are spread over lines in proportion to their net amounts. `sales_mode` (our extension)
  defaults to "counter"; the outlet is `custom_store_code` or `custom_store_id` (without either, the first outlet
  the programme lets earn stands in for the business's default store).
- A repeated `(store, transaction_no)` purchase is refused with HTTP 400 on `transaction_no`.
- `Idempotency-Key` on a POST: the same key with the same input replays the first successful answer; the same key
  with different input is refused with HTTP 422. Failed requests change nothing and are not recorded.
- An unknown phone on `issue_point` creates the member (the merchant setting the doc describes as usual).

Fault switches (command-line flags, or `POST /_faults` with a JSON object) make it misbehave like a real network:
latency, an error rate (500 before anything is applied), dropped connections (before or after the effect is
committed), 429 with Retry-After, "500 after commit" (applied, answer lost), garbage (HTML with a 200) and hollow
answers (a 2xx without the success shape, before or after the effect).

`--strict` serves only what the public contract documents (eber-api.md sections 1-5, and section 7's warning): no
Idempotency-Key, no programme endpoint, and `GET integration/point_transaction` with only page, limit and
display_name (newest first). Every delivery guarantee is tested against it too.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import random
import secrets as token_source
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, Response, request
from waitress import wasyncore
from waitress.server import create_server

from devtools.loyalty_server.store import ServerStore, api_time, parse_time, stored_time, utc_now
from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.programme import (
    EarnContext,
    MemberStanding,
    Programme,
    ProgrammeError,
    RewardKind,
    SaleDraft,
    SaleError,
    SaleLine,
    TierBasis,
    largest_remainder,
    load_programme,
    preview_earning,
    programme_to_dict,
)
from frontdesk.loyalty.programme import bundled_programme_path

log = logging.getLogger(__name__)

DEFAULT_PROGRAMME = bundled_programme_path()
PREFIXES = ("/v3/public", "/api/v3")
BUSINESS_ID = 1


# --- configuration --------------------------------------------------------------------------------------------
@dataclass
class Faults:
    """Misbehaviour on the API routes (never on /_faults or /_admin). Rates are probabilities per request."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0  # 500 before anything is applied
    drop_rate: float = 0.0  # connection closed without an answer, before anything is applied
    drop_after_commit_rate: float = 0.0  # effect applied, then the connection is closed without an answer
    rate_limit_rate: float = 0.0  # 429 with Retry-After
    retry_after: float = 1.0  # seconds, sent with each 429
    error_after_commit_rate: float = 0.0  # effect applied, then 500
    garbage_rate: float = 0.0  # 200 with an HTML page, nothing applied
    hollow_rate: float = 0.0  # a 2xx without the success shape ({}, empty, 204, {"message":"OK"}), nothing applied
    hollow_after_commit_rate: float = 0.0  # effect applied, then a 2xx without the success shape
    seed: int | None = None

    def update(self, changes: dict[str, Any]) -> Faults:
        known = {f.name: f.type for f in fields(Faults)}
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown fault switch “{key}”")
            if key == "seed":
                values[key] = None if value is None else int(value)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number")
            if key.endswith("_rate") and not 0 <= value <= 1:
                raise ValueError(f"{key} must be between 0 and 1")
            if value < 0:
                raise ValueError(f"{key} cannot be negative")
            values[key] = float(value)
        return replace(self, **values)


@dataclass
class ServerConfig:
    db_path: str
    api_key: str
    programme_path: str = str(DEFAULT_PROGRAMME)
    members: int = 300
    seed: int = 7
    region: str = "SG"
    timezone: str = "Asia/Singapore"
    honour_idempotency: bool = True
    reject_duplicate_transaction_no: bool = True
    auto_create_members: bool = True
    page_limit_max: int = 500
    # Strict mode: only what the public contract documents (eber-api.md sections 1-5): no Idempotency-Key, no
    # programme endpoint, and E5 (`GET integration/point_transaction`) honours only what it is seen to take (page,
    # limit, display_name), newest first.
    strict: bool = False
    faults: Faults = field(default_factory=Faults)


# --- errors ---------------------------------------------------------------------------------------------------
class Failure(Exception):
    """An answer other than success: status and the documented `{"error": {field: [messages]}}` body."""

    def __init__(self, status: int, errors: dict[str, list[str]], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {errors}")
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def invalid(field_name: str, message: str) -> Failure:
    return Failure(400, {field_name: [message]})


def not_found(message: str) -> Failure:
    return Failure(404, {"exception": [message]})


class Inputs:
    """The merged request input, with typed readers that refuse bad values with the field's name."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def check(self) -> None:
        if self.errors:
            raise Failure(400, self.errors)

    def raw(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def text(self, name: str, *, required: bool = False, max_length: int = 255) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {name.replace('_', ' ')} field is required.")
            return None
        if isinstance(value, (dict, list)):
            self.fail(name, f"The {name.replace('_', ' ')} must be a string.")
            return None
        text = str(value).strip()
        if len(text) > max_length:
            self.fail(name, f"The {name.replace('_', ' ')} may not be greater than {max_length} characters.")
            return None
        return text

    def money(self, name: str, currency: str, *, required: bool = False, default: str | None = None) -> Money | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {name.replace('_', ' ')} field is required.")
                return None
            return Money.parse(default, currency) if default is not None else None
        try:
            amount = Money.parse(str(value), currency)
        except MoneyError:
            self.fail(name, f"The {name.replace('_', ' ')} must be a number with at most 2 decimals.")
            return None
        if amount.is_negative():
            self.fail(name, f"The {name.replace('_', ' ')} must be at least 0.")
            return None
        return amount

    def integer(self, name: str, *, required: bool = False, default: int | None = None, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"The {name.replace('_', ' ')} field is required.")
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(name, f"The {name.replace('_', ' ')} must be an integer.")
            return None
        if minimum is not None and number < minimum:
            self.fail(name, f"The {name.replace('_', ' ')} must be at least {minimum}.")
            return None
        if maximum is not None and number > maximum:
            self.fail(name, f"The {name.replace('_', ' ')} may not be greater than {maximum}.")
            return None
        return number

    def flag(self, name: str) -> bool:
        value = self.raw(name)
        return str(value).strip().lower() in ("1", "true", "yes", "on") if value is not None else False

    def json_list(self, name: str) -> list[dict[str, Any]]:
        value = self.raw(name)
        if value is None:
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                self.fail(name, f"The {name.replace('_', ' ')} must be a valid JSON string.")
                return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(name, f"The {name.replace('_', ' ')} must be a JSON list of objects.")
            return []
        return value


# --- the application ------------------------------------------------------------------------------------------
class LoyaltyServer:
    """State and behaviour behind the HTTP routes; `create_app` wraps it in Flask."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = ServerStore(config.db_path)
        self.programme: Programme = load_programme(config.programme_path)
        self.programme_doc = programme_to_dict(self.programme)
        self.currency = self.programme.currency
        self.zone = ZoneInfo(config.timezone)
        self._fault_lock = threading.Lock()
        self.faults = config.faults
        self._rng = random.Random(config.faults.seed)
        self.programme_etag = self._compute_etag()
        # A purchase sent without a store is priced at the business's default store, as Eber books it.
        self.default_store = sorted(self.programme.earning.outlets)[0].upper() if self.programme.earning.outlets \
            else "DEFAULT"
        self.seed()

    # -- seeding -------------------------------------------------------------------------------------------------
    def seed(self) -> None:
        """Load the demo members once per database file; a restarted server keeps what happened since."""
        if self.store.meta("seeded_at"):
            return
        from frontdesk.demo.generator import OUTLETS, generate_members

        now = stored_time(utc_now())
        with self.store.write() as conn:
            rows = []
            codes = []
            for member in generate_members(self.config.members, self.config.seed):
                parsed = phones.normalise(member.phone_e164, self.config.region)
                rows.append((
                    member.server_id, member.first_name, member.last_name, f"{member.first_name} {member.last_name}",
                    member.email, parsed.national if parsed else None, parsed.region if parsed else None,
                    member.phone_e164, member.member_no, member.qr_token,
                    member.birthday.year if member.birthday else None,
                    member.birthday.month if member.birthday else None,
                    member.birthday.day if member.birthday else None,
                    member.tier_code, member.points_balance, member.lifetime_points, member.window_spend_minor,
                    member.window_spend_minor, member.points_expiring,
                    member.points_expiring_on.isoformat() if member.points_expiring_on else None,
                    member.visits_count, now, now,
                ))
                # Every fifth member holds an issued voucher, so lookups and redemptions have something to show.
                if member.server_id % 5 == 0:
                    codes.append((f"V{member.server_id}", member.server_id, "S$5 welcome-back voucher", "amount", 500,
                                  None, None, "AVAILABLE", "2027-12-31 15:59:59.000000"))
            conn.executemany(
                "INSERT OR IGNORE INTO users(id, first_name, last_name, display_name, email, phone, phone_code,"
                " phone_e164, external_member_id, qr_code, birth_year, birth_month, birth_day, tier_code, points,"
                " lifetime_points, window_spend_minor, total_spending_minor, expiring_points, expiring_on,"
                " num_visits, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.executemany(
                "INSERT OR IGNORE INTO codes(code, user_id, name, method, amount_minor, percentage, sku, status,"
                " expires_at) VALUES (?,?,?,?,?,?,?,?,?)", codes)
            outlets = [{"code": code, "name": name, "timezone": zone} for code, name, zone in OUTLETS]
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('outlets', ?)", (json.dumps(outlets),))
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('seeded_at', ?)", (now,))

    def _compute_etag(self) -> str:
        canonical = json.dumps(self.programme_doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    # -- faults --------------------------------------------------------------------------------------------------
    def set_faults(self, changes: dict[str, Any]) -> Faults:
        with self._fault_lock:
            if changes.get("reset"):
                changes = {k: v for k, v in changes.items() if k != "reset"}
                self.faults = Faults()
            self.faults = self.faults.update(changes)
            if "seed" in changes:
                self._rng = random.Random(self.faults.seed)
            return self.faults

    def uniform(self, upper: float) -> float:
        if upper <= 0:
            return 0.0
        with self._fault_lock:
            return self._rng.random() * upper

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._fault_lock:
            return self._rng.random() < rate

    # -- helpers -------------------------------------------------------------------------------------------------
    def money_text(self, minor: int) -> str:
        return Money.from_minor(minor, self.currency).plain()

    def find_user(self, conn: Any, inputs: Inputs, *, required: bool = True) -> Any:
        """By user_id, phone (+phone_code), email, external_member_id or our `qr_code`; the first that is given."""
        user_id = inputs.integer("user_id")
        inputs.check()
        if user_id is not None:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
            if row is None and required:
                raise not_found("User not found.")
            return row
        phone = inputs.text("phone")
        if phone is not None:
            e164 = self.phone_e164(phone, inputs.text("phone_code"))
            if e164 is None:
                raise invalid("phone", "The phone format is invalid.")
            row = conn.execute("SELECT * FROM users WHERE phone_e164 = ? ORDER BY id LIMIT 1", (e164,)).fetchone()
        elif (email := inputs.text("email")) is not None:
            row = conn.execute("SELECT * FROM users WHERE email = ? ORDER BY id LIMIT 1",
                               (email.lower(),)).fetchone()
        elif (external := inputs.text("external_member_id")) is not None:
            row = conn.execute("SELECT * FROM users WHERE external_member_id = ? ORDER BY id LIMIT 1",
                               (external,)).fetchone()
        elif (code := inputs.text("qr_code")) is not None:
            row = conn.execute("SELECT * FROM users WHERE qr_code = ?", (code,)).fetchone()
        else:
            if required:
                raise invalid("phone", "A member identifier is required: phone, email, user_id or "
                                       "external_member_id.")
            return None
        if row is None and required:
            raise not_found("User not found.")
        return row

    def phone_e164(self, phone: str, phone_code: str | None) -> str | None:
        region = (phone_code or self.config.region).strip().upper()
        if region.isdigit():  # some clients send the dialling code ("65") instead of the ISO code
            import phonenumbers

            region = phonenumbers.region_code_for_country_code(int(region))
        parsed = phones.normalise(phone, region)
        return parsed.e164 if parsed else None

    def tier_name(self, code: str | None) -> str | None:
        tier = self.programme.tier(code)
        return tier.name if tier else code

    def user_json(self, conn: Any, row: Any, *, redeemable: bool = False, conversion: bool = False) -> dict[str, Any]:
        points = row["points"]
        body: dict[str, Any] = {
            "id": row["id"], "business_id": BUSINESS_ID,
            "first_name": row["first_name"], "last_name": row["last_name"], "display_name": row["display_name"],
            "email": row["email"], "phone": row["phone"], "phone_code": row["phone_code"],
            "phone_format": phones.display(row["phone_e164"]) if row["phone_e164"] else None,
            "country": row["phone_code"], "nationality": None,
            "birth_year": row["birth_year"], "birth_month": row["birth_month"], "birth_day": row["birth_day"],
            "external_member_id": row["external_member_id"], "qr_code": row["qr_code"],
            "created_at": api_time(row["created_at"]), "updated_at": api_time(row["updated_at"]),
            "points": [{
                "id": row["id"], "user_id": row["id"], "business_id": BUSINESS_ID, "points": points,
                "num_visits": row["num_visits"], "num_claimed_rewards": row["num_claimed_rewards"],
                "friendly_last_visit_at": api_time(row["last_visit_at"]),
            }],
            "member": {
                "id": row["id"], "user_id": row["id"],
                "total_spending": self.money_text(row["total_spending_minor"]),
                "average_spending": self.money_text(row["total_spending_minor"] // max(1, row["num_visits"])),
                "window_spending": self.money_text(row["window_spend_minor"]),  # our extension: tier window
                "lifetime_points": row["lifetime_points"],  # our extension
                "expiring_coming_points": row["expiring_points"],
                "expiring_coming_date": row["expiring_on"],
                **self._next_tier(row),
            },
            "member_tiers": ([{"id": row["tier_code"], "code": row["tier_code"],
                               "name": self.tier_name(row["tier_code"])}] if row["tier_code"] else []),
        }
        if redeemable:
            body["redeemable_list"] = self._redeemables(conn, row)
        if conversion:
            body["list_point_conversion"] = self._conversion(points)
        return body

    def _next_tier(self, row: Any) -> dict[str, Any]:
        levels = self.programme.tiers.levels
        current = self.programme.tier(row["tier_code"])
        index = levels.index(current) if current in levels else -1
        if index + 1 >= len(levels):
            return {"next_member_tier_id": None}
        nxt = levels[index + 1]
        if self.programme.tiers.basis is TierBasis.SPEND:
            required = nxt.threshold.minor if isinstance(nxt.threshold, Money) else 0
            have = row["window_spend_minor"]
            return {"next_member_tier_id": nxt.code, "next_member_tier_required_unit": "amount",
                    "next_member_tier_required_amount": self.money_text(required),
                    "next_member_tier_amount": self.money_text(have),
                    "next_member_tier_progress": round(min(1.0, have / required), 4) if required else 1.0}
        required_points = int(nxt.threshold) if not isinstance(nxt.threshold, Money) else 0
        return {"next_member_tier_id": nxt.code, "next_member_tier_required_unit": "points",
                "next_member_tier_required_value": required_points,
                "next_member_tier_value": row["window_points"]}

    def _redeemables(self, conn: Any, row: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        now = stored_time(utc_now())
        for code in conn.execute("SELECT * FROM codes WHERE user_id = ? AND status = 'AVAILABLE' ORDER BY code",
                                 (row["id"],)):
            if code["expires_at"] and code["expires_at"] < now:
                continue
            items.append(self._code_json(code))
        today = datetime.now(self.zone).date()
        for reward in self.programme.rewards:
            if reward.tiers and (row["tier_code"] or "").casefold() not in reward.tiers:
                continue
            if (reward.valid_from and today < reward.valid_from) or (reward.valid_until and today > reward.valid_until):
                continue
            items.append(self._reward_json(reward))
        return items

    def _code_json(self, code: Any) -> dict[str, Any]:
        return {
            "redeem_code": code["code"], "redeem_name": code["name"], "redeem_type": "issued_reward",
            "image_url": None, "reward": {"name": code["name"], "image_url": None},
            "expiry_date_tz": api_time(code["expires_at"]),
            "pos_redeem_method": code["method"],
            "pos_redeem_amount": self.money_text(code["amount_minor"]) if code["method"] == "amount" else None,
            "pos_redeem_percentage": code["percentage"], "pos_redeem_sku": code["sku"], "pos_redeem_extra": None,
            "pos_redeem_amount_currency": self.currency, "status": code["status"],
        }

    def _reward_json(self, reward: Any) -> dict[str, Any]:
        method = "percentage" if reward.kind is RewardKind.PERCENT else "amount"
        amount = reward.amount if reward.kind is RewardKind.AMOUNT else reward.value
        return {
            "redeem_code": reward.code, "redeem_name": reward.name, "redeem_type": "reward",
            "image_url": None, "reward": {"name": reward.name, "image_url": None},
            "expiry_date_tz": reward.valid_until.isoformat() if reward.valid_until else None,
            "pos_redeem_method": method,
            "pos_redeem_amount": amount.plain() if amount else None,
            "pos_redeem_percentage": str(reward.percent) if reward.percent is not None else None,
            "pos_redeem_sku": reward.sku, "pos_redeem_extra": None, "pos_redeem_amount_currency": self.currency,
            "points_cost": reward.points_cost,
        }

    def _conversion(self, balance: int) -> dict[str, Any]:
        settings = self.programme.points_payment
        if settings is None:
            return {"setting": None, "point_conversion_max_redeem_amount": "0.00"}
        value_minor = balance * settings.amount.minor // settings.points
        if settings.max_amount_per_bill is not None:
            value_minor = min(value_minor, settings.max_amount_per_bill.minor)
        return {
            "setting": {"conversion_ratio_to_amount": settings.amount.plain(),
                        "conversion_ratio_from_points": settings.points,
                        "min_allowed_points": settings.min_points},
            "point_conversion_max_redeem_amount": self.money_text(value_minor),
        }

    def transaction_json(self, row: Any) -> dict[str, Any]:
        return {
            "id": row["id"], "business_id": BUSINESS_ID, "user_id": row["user_id"], "points": row["points"],
            "currency": self.currency, "amount": self.money_text(row["amount_minor"]), "type": row["type"],
            "transaction_no": row["transaction_no"], "store_id": row["store"] or None,
            "custom_store_id": row["store"] or None, "staff_id": None, "store_staff_id": row["staff"],
            "note": row["note"], "base_points": row["base_points"], "additional_points": row["additional_points"],
            "deducted_points": row["deducted_points"], "voided": row["voided_at"] is not None,
            "voided_at": api_time(row["voided_at"]), "void_of": row["void_of"],
            "transaction_created_at": api_time(row["occurred_at"]),
            "created_at": api_time(row["created_at"]), "updated_at": api_time(row["voided_at"] or row["created_at"]),
        }

    # -- points --------------------------------------------------------------------------------------------------
    def purchases_today(self, conn: Any, user_id: int, occurred: datetime) -> tuple[int, int]:
        """(purchases, points) the member already has on the sale's local day."""
        day_start, day_end = self._local_day(occurred)
        row = conn.execute(
            "SELECT count(*), coalesce(sum(points), 0) FROM transactions WHERE user_id = ?"
            " AND type = 'purchase' AND voided_at IS NULL AND occurred_at >= ? AND occurred_at < ?",
            (user_id, day_start, day_end)).fetchone()
        return int(row[0]), max(0, int(row[1]))

    def price_sale(self, user: Any, inputs: Inputs, amounts: dict[str, Money], occurred: datetime, store: str,
                   items: list[dict[str, Any]], today: tuple[int, int]) -> tuple[int, int, int, Money]:
        """(total, base, additional, eligible) for a purchase, from the programme engine."""
        currency = self.currency
        amount, tax, service, discount = amounts["amount"], amounts["tax"], amounts["service_charge"], \
            amounts["discount"]
        lines: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            lines.append(self._line(item, index))
        if not lines:
            net = amount - tax - service + discount
            lines.append({"name": "Purchase", "sku": None, "category": None, "quantity": 1,
                          "unit_price": net if not net.is_negative() else Money.zero(currency),
                          "discount": Money.zero(currency), "tax": None, "service_charge": None})
        nets = [max(0, (line["unit_price"] * line["quantity"] - line["discount"]).minor) for line in lines]
        zero = Money.zero(currency)

        def spread(total: Money, key: str) -> list[Money]:
            """Per-line amounts: the lines' own when every line has one, else the bill's spread by net amount."""
            if all(line[key] is not None for line in lines):
                return [line[key] for line in lines]
            if any(line[key] is not None for line in lines):
                return [line[key] or zero for line in lines]
            return [Money.from_minor(part, currency) for part in largest_remainder(total.minor, nets)]

        taxes, services = spread(tax, "tax"), spread(service, "service_charge")
        sale_lines = tuple(
            SaleLine(name=line["name"], sku=line["sku"], category=line["category"], quantity=line["quantity"],
                     unit_price=line["unit_price"], discount=line["discount"], tax=taxes[i],
                     service_charge=services[i])
            for i, line in enumerate(lines)
        )
        draft = SaleDraft(outlet=store or self.default_store, sales_mode=inputs.text("sales_mode") or "counter",
                          occurred_at=occurred, currency=currency, lines=sale_lines,
                          tips=Money.zero(currency), bill_discount=discount)
        standing = MemberStanding(tier_code=user["tier_code"], points_balance=user["points"])
        context = EarnContext(visited_today=today[0] > 0, points_earned_today=today[1])
        try:
            preview = preview_earning(self.programme, draft, standing, context)
        except SaleError as error:
            target = {"bill_discount": "discount", "occurred_at": "utc_transaction_created_at"}.get(
                error.field, "item_data_json" if error.field.startswith("lines") else error.field)
            raise invalid(target, f"The sale cannot be priced: {error}") from None
        base = preview.total_points - min(preview.visit_points, preview.total_points)
        return preview.total_points, base, preview.total_points - base, preview.eligible_amount

    def _line(self, item: dict[str, Any], index: int) -> dict[str, Any]:
        currency = self.currency
        where = "item_data_json"

        def money(key: str) -> Money | None:
            value = item.get(key)
            if value is None or value == "":
                return None
            if isinstance(value, float):
                value = repr(value)
            try:
                amount = Money.parse(str(value), currency)
            except MoneyError:
                raise invalid(where, f"Item {index + 1}: {key} is not an amount.") from None
            if amount.is_negative():
                raise invalid(where, f"Item {index + 1}: {key} cannot be negative.")
            return amount

        try:
            quantity = int(Decimal(str(item.get("quantity", 1))))
        except (InvalidOperation, ValueError):
            raise invalid(where, f"Item {index + 1}: quantity must be a whole number.") from None
        if quantity < 1:
            raise invalid(where, f"Item {index + 1}: quantity must be at least 1.")
        unit = money("unit_amount")
        total = money("total_amount")
        if unit is None and total is None:
            raise invalid(where, f"Item {index + 1}: unit_amount or total_amount is required.")
        if unit is None:
            assert total is not None
            if total.minor % quantity == 0:
                unit = Money.from_minor(total.minor // quantity, currency)
            else:
                unit, quantity = total, 1
        return {"name": str(item.get("name") or ""), "sku": item.get("sku") or None,
                "category": item.get("category") or None, "quantity": quantity, "unit_price": unit,
                "discount": money("discount") or Money.zero(currency), "tax": money("tax"),
                "service_charge": money("service_charge")}

    def _local_day(self, moment: datetime) -> tuple[str, str]:
        local = moment.astimezone(self.zone).date()
        start = datetime.combine(local, datetime.min.time(), self.zone)
        return stored_time(start), stored_time(start + timedelta(days=1))

    def _promote(self, conn: Any, user: Any, spend_added: int, points_added: int) -> None:
        """Upgrade (never downgrade at a sale) to the highest tier the rolling-window figure now reaches."""
        spend = user["window_spend_minor"] + spend_added
        points = user["window_points"] + points_added
        levels = self.programme.tiers.levels
        current = self.programme.tier(user["tier_code"])
        rank = levels.index(current) if current in levels else -1
        best = rank
        for index, level in enumerate(levels):
            reached = (spend >= level.threshold.minor if isinstance(level.threshold, Money)
                       else points >= int(level.threshold))
            if reached and index > best:
                best = index
        if best > rank:
            conn.execute("UPDATE users SET tier_code = ? WHERE id = ?", (levels[best].code, user["id"]))

    def create_user_row(self, conn: Any, values: dict[str, Any]) -> Any:
        now = stored_time(utc_now())
        first = values.get("first_name") or ""
        last = values.get("last_name") or ""
        cursor = conn.execute(
            "INSERT INTO users(first_name, last_name, display_name, email, phone, phone_code, phone_e164,"
            " external_member_id, qr_code, birth_year, birth_month, birth_day, tier_code, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (first, last, values.get("display_name") or f"{first} {last}".strip(), values.get("email"),
             values.get("phone"), values.get("phone_code"), values.get("phone_e164"),
             values.get("external_member_id"), "EB" + token_source.token_hex(7).upper(),
             values.get("birth_year"), values.get("birth_month"), values.get("birth_day"),
             self.programme.tiers.levels[0].code, now, now))
        return conn.execute("SELECT * FROM users WHERE id = ?", (cursor.lastrowid,)).fetchone()

    # -- handlers (each gets a connection in a write or read transaction, and the inputs) ------------------------
    def issue_point(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        amounts = {name: inputs.money(name, self.currency, required=name == "amount", default="0")
                   for name in ("amount", "tax", "service_charge", "discount")}
        amount = amounts["amount"]
        store = inputs.text("custom_store_code", max_length=64) or inputs.text("custom_store_id", max_length=64) or ""
        transaction_no = inputs.text("transaction_no", max_length=64)
        items = inputs.json_list("item_data_json")
        payments = inputs.json_list("payment_data_json")
        conversion = inputs.integer("point_conversion_points", default=0, minimum=0) or 0
        explicit_points = inputs.integer("points", minimum=0)
        occurred = utc_now()
        stamp = inputs.text("utc_transaction_created_at")
        if stamp:
            try:
                occurred = parse_time(stamp)
            except ValueError:
                inputs.fail("utc_transaction_created_at", "The utc transaction created at does not match the "
                                                          "format Y-m-d H:i:s.")
        inputs.check()
        assert amount is not None
        user = self.find_user(conn, inputs, required=False)
        if user is None:
            phone = inputs.text("phone")
            if phone is None or not (self.config.auto_create_members or inputs.flag("create")):
                raise not_found("User not found.")
            e164 = self.phone_e164(phone, inputs.text("phone_code"))
            parsed = phones.normalise(e164 or "", self.config.region)
            user = self.create_user_row(conn, {"phone": parsed.national if parsed else phone,
                                               "phone_code": parsed.region if parsed else None,
                                               "phone_e164": e164})
        if transaction_no and self.config.reject_duplicate_transaction_no:
            taken = conn.execute("SELECT id FROM transactions WHERE type = 'purchase' AND store = ?"
                                 " AND transaction_no = ?", (store, transaction_no)).fetchone()
            if taken:
                raise invalid("transaction_no", "The transaction no has already been taken.")
        today = self.purchases_today(conn, user["id"], occurred)
        if explicit_points is not None:
            total, base, additional, eligible = explicit_points, explicit_points, 0, amount
        else:
            total, base, additional, eligible = self.price_sale(user, inputs, amounts, occurred, store, items,  # type: ignore[arg-type]
                                                                today)
        if conversion:
            settings = self.programme.points_payment
            if settings is None:
                raise invalid("point_conversion_points", "Paying with points is not enabled.")
            if conversion < settings.min_points:
                raise invalid("point_conversion_points", f"At least {settings.min_points} points are needed.")
            if conversion > user["points"]:
                raise invalid("point_conversion_points", f"The member has only {user['points']} points.")
        now = stored_time(utc_now())
        occurred_text = stored_time(occurred)
        cursor = conn.execute(
            "INSERT INTO transactions(type, user_id, store, transaction_no, amount_minor, points, base_points,"
            " additional_points, deducted_points, eligible_minor, tax_minor, service_charge_minor, discount_minor,"
            " items, payments, staff, note, occurred_at, created_at) VALUES"
            " ('purchase',?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (user["id"], store, transaction_no, amount.minor, total, base, additional, conversion, eligible.minor,
             amounts["tax"].minor, amounts["service_charge"].minor, amounts["discount"].minor,  # type: ignore[union-attr]
             json.dumps(items), json.dumps(payments), inputs.text("custom_staff_id"), inputs.text("note"),
             occurred_text, now))
        first_visit_today = today[0] == 0
        conn.execute(
            "UPDATE users SET points = points + ? - ?, lifetime_points = lifetime_points + ?,"
            " window_spend_minor = window_spend_minor + ?, window_points = window_points + ?,"
            " total_spending_minor = total_spending_minor + ?, num_visits = num_visits + ?,"
            " last_visit_at = max(coalesce(last_visit_at, ''), ?), updated_at = ? WHERE id = ?",
            (total, conversion, total, eligible.minor, total, amount.minor, 1 if first_visit_today else 0,
             occurred_text, now, user["id"]))
        self._promote(conn, user, eligible.minor, total)
        row = conn.execute("SELECT * FROM transactions WHERE id = ?", (cursor.lastrowid,)).fetchone()
        balance = user["points"] + total - conversion
        return {
            "status": True, "transaction_id": row["id"], "points": total, "base_points": base,
            "additional_points": additional, "total_deducted_points": conversion,
            "transaction": self.transaction_json(row), "additional_transactions": [], "point_balance": balance,
            "user_id": user["id"],
            "print": {"default": f"Member ID: {user['id']}\r\nPoints Earned: {total}\r\nBalance: {balance}"},
        }

    def redeem(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        code_text = inputs.text("redeem_code", required=True, max_length=64)
        verify_only = inputs.flag("verify_only")
        amount = inputs.money("amount", self.currency)
        transaction_no = inputs.text("transaction_no", max_length=64)
        store = inputs.text("custom_store_id", max_length=64) or inputs.text("custom_store_code", max_length=64)
        inputs.check()
        assert code_text is not None
        user = self.find_user(conn, inputs, required=False)
        code = conn.execute("SELECT * FROM codes WHERE code = ?", (code_text,)).fetchone()
        now = stored_time(utc_now())
        if code is not None:
            if user is not None and code["user_id"] not in (None, user["id"]):
                raise invalid("redeem_code", "The code belongs to another member.")
            if code["status"] == "USED":
                raise invalid("redeem_code", "The code has already been used.")
            if code["status"] != "AVAILABLE" or (code["expires_at"] and code["expires_at"] < now):
                raise invalid("redeem_code", "The code has expired.")
            if not verify_only:
                conn.execute("UPDATE codes SET status = 'USED', used_at = ?, used_transaction_no = ?, used_store = ?"
                             " WHERE code = ?", (now, transaction_no, store, code_text))
                if code["user_id"] is not None:
                    conn.execute("UPDATE users SET num_claimed_rewards = num_claimed_rewards + 1, updated_at = ?"
                                 " WHERE id = ?", (now, code["user_id"]))
            owner = user or conn.execute("SELECT * FROM users WHERE id = ?", (code["user_id"],)).fetchone()
            # `status` is the call's success flag (E1/E2 style); the code's own state is `code_status`.
            body = {**self._code_json(code), "code_status": code["status"], "status": True, "verify_only": verify_only,
                    "status_after": "AVAILABLE" if verify_only else "USED"}
            if owner is not None:
                body["user"] = {"id": owner["id"], "display_name": owner["display_name"]}
            return body
        reward = self.programme.reward(code_text)
        if reward is None:
            raise not_found("The redeem code was not found.")
        if user is None:
            raise invalid("phone", "A member identifier is required to redeem a catalogue reward.")
        today = datetime.now(self.zone).date()
        if reward.tiers and (user["tier_code"] or "").casefold() not in reward.tiers:
            raise invalid("redeem_code", f"{reward.name} is not available at the member's tier.")
        if (reward.valid_from and today < reward.valid_from) or (reward.valid_until and today > reward.valid_until):
            raise invalid("redeem_code", f"{reward.name} is not valid today.")
        if reward.min_bill is not None and amount is not None and amount < reward.min_bill:
            raise invalid("amount", f"{reward.name} needs a bill of at least {reward.min_bill.plain()}.")
        if reward.per_member_limit is not None:
            used = conn.execute("SELECT count(*) FROM reward_redemptions WHERE user_id = ? AND reward_code = ?"
                                " AND voided_at IS NULL", (user["id"], reward.code)).fetchone()[0]
            if used >= reward.per_member_limit:
                raise invalid("redeem_code", f"{reward.name} can be redeemed {reward.per_member_limit} times.")
        if user["points"] < reward.points_cost:
            raise invalid("redeem_code", f"{reward.name} needs {reward.points_cost} points; the member has "
                                         f"{user['points']}.")
        if not verify_only:
            conn.execute("INSERT INTO reward_redemptions(reward_code, user_id, transaction_no, store, points,"
                         " created_at) VALUES (?,?,?,?,?,?)",
                         (reward.code, user["id"], transaction_no, store, reward.points_cost, now))
            conn.execute("UPDATE users SET points = points - ?, num_claimed_rewards = num_claimed_rewards + 1,"
                         " updated_at = ? WHERE id = ?", (reward.points_cost, now, user["id"]))
        balance = conn.execute("SELECT points FROM users WHERE id = ?", (user["id"],)).fetchone()["points"]
        return {**self._reward_json(reward), "status": True, "verify_only": verify_only,
                "points_deducted": 0 if verify_only else reward.points_cost, "point_balance": balance,
                "user": {"id": user["id"], "display_name": user["display_name"]}}

    def void_transaction(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        transaction_id = inputs.integer("transaction_id", required=True)
        inputs.check()
        row = conn.execute("SELECT * FROM transactions WHERE id = ?", (transaction_id,)).fetchone()
        if row is None or row["type"] != "purchase":
            raise not_found("The point transaction was not found.")
        if row["voided_at"] is not None:
            raise invalid("transaction_id", "The transaction has already been voided.")
        user = conn.execute("SELECT * FROM users WHERE id = ?", (row["user_id"],)).fetchone()
        # Claw back what was earned and give back what was paid with points; never below zero: report the gap.
        balance_after = user["points"] - row["points"] + row["deducted_points"]
        shortfall = max(0, -balance_after)
        change = -row["points"] + row["deducted_points"] + shortfall
        now = stored_time(utc_now())
        cursor = conn.execute(
            "INSERT INTO transactions(type, user_id, store, transaction_no, amount_minor, points, staff, note,"
            " occurred_at, created_at, void_of) VALUES ('void',?,?,?,?,?,?,?,?,?,?)",
            (row["user_id"], row["store"], inputs.text("transaction_no") or row["transaction_no"],
             row["amount_minor"], change, inputs.text("custom_staff_id"), inputs.text("note"), now, now, row["id"]))
        conn.execute("UPDATE transactions SET voided_at = ? WHERE id = ?", (now, row["id"]))
        conn.execute(
            "UPDATE users SET points = points + ?, lifetime_points = max(0, lifetime_points - ?),"
            " window_spend_minor = max(0, window_spend_minor - ?), window_points = max(0, window_points - ?),"
            " total_spending_minor = max(0, total_spending_minor - ?), updated_at = ? WHERE id = ?",
            (change, row["points"], row["eligible_minor"], row["points"], row["amount_minor"], now, row["user_id"]))
        balance = conn.execute("SELECT points FROM users WHERE id = ?", (row["user_id"],)).fetchone()["points"]
        void_row = conn.execute("SELECT * FROM transactions WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return {"status": True, "transaction_id": void_row["id"], "voided_transaction_id": row["id"],
                "points": change, "shortfall": shortfall, "point_balance": balance, "user_id": row["user_id"],
                "transaction": self.transaction_json(void_row)}

    def void_used_reward(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        code_text = inputs.text("redeem_code", required=True, max_length=64)
        transaction_no = inputs.text("transaction_no", max_length=64)
        inputs.check()
        now = stored_time(utc_now())
        code = conn.execute("SELECT * FROM codes WHERE code = ?", (code_text,)).fetchone()
        if code is not None:
            if code["status"] != "USED":
                raise invalid("redeem_code", "The code has not been used.")
            if transaction_no and code["used_transaction_no"] and code["used_transaction_no"] != transaction_no:
                raise invalid("transaction_no", "The code was used on another transaction.")
            conn.execute("UPDATE codes SET status = 'AVAILABLE', used_at = NULL, used_transaction_no = NULL,"
                         " used_store = NULL WHERE code = ?", (code_text,))
            balance = None
            if code["user_id"] is not None:
                conn.execute("UPDATE users SET num_claimed_rewards = max(0, num_claimed_rewards - 1), updated_at = ?"
                             " WHERE id = ?", (now, code["user_id"]))
                balance = conn.execute("SELECT points FROM users WHERE id = ?", (code["user_id"],)).fetchone()[0]
            return {"status": True, "redeem_code": code_text, "status_after": "AVAILABLE", "points_restored": 0,
                    "point_balance": balance, "user_id": code["user_id"]}
        if self.programme.reward(code_text or "") is None:
            raise not_found("The redeem code was not found.")
        query = "SELECT * FROM reward_redemptions WHERE reward_code = ? AND voided_at IS NULL"
        params: list[Any] = [self.programme.reward(code_text or "").code]  # type: ignore[union-attr]
        if transaction_no:
            query += " AND transaction_no = ?"
            params.append(transaction_no)
        redemption = conn.execute(query + " ORDER BY id DESC LIMIT 1", params).fetchone()
        if redemption is None:
            raise invalid("redeem_code", "The code has not been used.")
        conn.execute("UPDATE reward_redemptions SET voided_at = ? WHERE id = ?", (now, redemption["id"]))
        conn.execute("UPDATE users SET points = points + ?, num_claimed_rewards = max(0, num_claimed_rewards - 1),"
                     " updated_at = ? WHERE id = ?", (redemption["points"], now, redemption["user_id"]))
        balance = conn.execute("SELECT points FROM users WHERE id = ?", (redemption["user_id"],)).fetchone()[0]
        return {"status": True, "redeem_code": code_text, "points_restored": redemption["points"],
                "point_balance": balance, "user_id": redemption["user_id"]}

    def point_adjust(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        action = inputs.text("action", required=True)
        points = inputs.integer("points", required=True, minimum=1)
        if action is not None and action not in ("add", "deduct"):
            inputs.fail("action", "The selected action is invalid.")
        inputs.check()
        assert points is not None
        user = self.find_user(conn, inputs)
        change = points if action == "add" else -points
        if user["points"] + change < 0:
            raise invalid("points", f"The member has only {user['points']} points.")
        now = stored_time(utc_now())
        cursor = conn.execute(
            "INSERT INTO transactions(type, user_id, store, transaction_no, points, staff, note, occurred_at,"
            " created_at) VALUES ('adjust',?,?,?,?,?,?,?,?)",
            (user["id"], inputs.text("custom_store_id") or "", inputs.text("transaction_no"), change,
             inputs.text("custom_staff_id"), inputs.text("note", max_length=1000), now, now))
        conn.execute("UPDATE users SET points = points + ?, updated_at = ? WHERE id = ?", (change, now, user["id"]))
        balance = conn.execute("SELECT points FROM users WHERE id = ?", (user["id"],)).fetchone()[0]
        row = conn.execute("SELECT * FROM transactions WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return {"status": True, "transaction_id": row["id"], "points": change, "point_balance": balance,
                "user_id": user["id"], "transaction": self.transaction_json(row)}

    def _user_fields(self, inputs: Inputs, *, creating: bool) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in ("first_name", "last_name", "display_name"):
            text = inputs.text(name, max_length=100)
            if text is not None:
                if name != "display_name" and any(ch.isdigit() for ch in text):
                    inputs.fail(name, f"The {name.replace('_', ' ')} may only contain letters.")
                values[name] = text
        email = inputs.text("email", max_length=254)
        if email is not None:
            from frontdesk.domain.members import normalise_email

            normalised = normalise_email(email)
            if normalised is None:
                inputs.fail("email", "The email format is invalid.")
            values["email"] = normalised
        phone = inputs.text("phone", max_length=40)
        if phone is not None:
            e164 = self.phone_e164(phone, inputs.text("phone_code"))
            if e164 is None:
                inputs.fail("phone", "The phone format is invalid.")
            else:
                parsed = phones.normalise(e164, self.config.region)
                assert parsed is not None
                values.update(phone=parsed.national, phone_code=parsed.region, phone_e164=e164)
        external = inputs.text("external_member_id", max_length=64)
        if external is not None:
            values["external_member_id"] = external
        year, month, day = (inputs.integer("birth_year", minimum=1900, maximum=2100),
                            inputs.integer("birth_month", minimum=1, maximum=12),
                            inputs.integer("birth_day", minimum=1, maximum=31))
        if year and month and day:
            try:
                date(year, month, day)
            except ValueError:
                inputs.fail("birth_day", "The birth date is not a valid date.")
        values.update({k: v for k, v in (("birth_year", year), ("birth_month", month), ("birth_day", day))
                       if v is not None})
        if creating and not (values.get("phone_e164") or values.get("email")) and not inputs.errors:
            inputs.fail("phone", "A phone or an email is required.")
        inputs.check()
        return values

    def _check_unique(self, conn: Any, values: dict[str, Any], own_id: int | None = None) -> None:
        errors: dict[str, list[str]] = {}
        for column, field_name in (("phone_e164", "phone"), ("email", "email"),
                                   ("external_member_id", "external_member_id")):
            value = values.get(column)
            if value and conn.execute(f"SELECT 1 FROM users WHERE {column} = ? AND id IS NOT ?",
                                      (value, own_id)).fetchone():
                errors[field_name] = [f"The {field_name.replace('_', ' ')} has already been taken."]
        if errors:
            raise Failure(400, errors)

    def user_create(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        values = self._user_fields(inputs, creating=True)
        self._check_unique(conn, values)
        row = self.create_user_row(conn, values)
        return {"status": True, **self.user_json(conn, row)}

    def user_update(self, conn: Any, inputs: Inputs, user_id: int) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise not_found("User not found.")
        values = self._user_fields(inputs, creating=False)
        self._check_unique(conn, values, own_id=user_id)
        if values:
            values["updated_at"] = stored_time(utc_now())
            assignments = ", ".join(f"{column} = ?" for column in values)
            conn.execute(f"UPDATE users SET {assignments} WHERE id = ?", (*values.values(), user_id))
        row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        return self.user_json(conn, row)

    def user_get(self, conn: Any, inputs: Inputs, user_id: int) -> dict[str, Any]:
        row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise not_found("User not found.")
        return self.user_json(conn, row)

    def user_show(self, conn: Any, inputs: Inputs) -> dict[str, Any]:
        row = self.find_user(conn, inputs)
        return self.user_json(conn, row, redeemable=inputs.flag("list_redeemable"),
                              conversion=inputs.flag("list_point_conversion"))

    def list_users(self, conn: Any, inputs: Inputs, base_url: str) -> dict[str, Any]:
        limit = inputs.integer("limit", default=100, minimum=1, maximum=self.config.page_limit_max) or 100
        page = inputs.integer("page", default=1, minimum=1) or 1
        from_text, to_text = inputs.text("from_date"), inputs.text("to_date")
        cursor_text = inputs.text("cursor")
        bounds: dict[str, str] = {}
        for name, text in (("from_date", from_text), ("to_date", to_text)):
            if text:
                try:
                    bounds[name] = stored_time(parse_time(text))
                except ValueError:
                    inputs.fail(name, f"The {name.replace('_', ' ')} does not match the format Y-m-d H:i:s.")
        cursor: tuple[str, int] | None = None
        if cursor_text:
            stamp, _, last_id = cursor_text.rpartition("|")
            try:
                cursor = (stamp, int(last_id))
            except ValueError:
                inputs.fail("cursor", "The cursor is invalid.")
        inputs.check()
        where, params = ["1 = 1"], []
        if "from_date" in bounds:
            where.append("updated_at >= ?")
            params.append(bounds["from_date"])
        if "to_date" in bounds:
            where.append("updated_at <= ?")
            params.append(bounds["to_date"])
        if (name := inputs.text("display_name")) is not None:
            where.append("display_name LIKE ?")
            params.append(f"%{name}%")
        if cursor is not None:
            where.append("(updated_at > ? OR (updated_at = ? AND id > ?))")
            params += [cursor[0], cursor[0], cursor[1]]
            offset = 0
        else:
            offset = (page - 1) * limit
        rows = conn.execute(f"SELECT * FROM users WHERE {' AND '.join(where)} ORDER BY updated_at, id"
                            f" LIMIT ? OFFSET ?", (*params, limit + 1, offset)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_url = None
        if more:
            # A keyset cursor rather than a page number: members updated while a client pages cannot shift rows
            # between pages and be skipped.
            query = {k: v for k, v in (("from_date", from_text), ("to_date", to_text),
                                       ("display_name", inputs.text("display_name"))) if v}
            query.update(limit=str(limit), cursor=f"{rows[-1]['updated_at']}|{rows[-1]['id']}")
            next_url = f"{base_url}?{urlencode(query)}"
        return {"data": [self.user_json(conn, row) for row in rows], "next_url": next_url, "per_page": limit}

    def point_transactions(self, conn: Any, inputs: Inputs, base_url: str) -> dict[str, Any]:
        limit = inputs.integer("limit", default=20, minimum=1, maximum=100) or 20
        page = inputs.integer("page", default=1, minimum=1) or 1
        inputs.check()
        if self.config.strict:
            return self._point_transactions_as_seen(conn, inputs, base_url, page, limit)
        where, params = ["1 = 1"], []
        for column, name in (("transaction_no", "transaction_no"), ("user_id", "user_id"), ("type", "type")):
            if (value := inputs.text(name)) is not None:
                where.append(f"{column} = ?")
                params.append(value)
        store = inputs.text("custom_store_id") or inputs.text("custom_store_code")
        if store is not None:
            where.append("store = ?")
            params.append(store)
        if (name := inputs.text("display_name")) is not None:
            where.append("user_id IN (SELECT id FROM users WHERE display_name LIKE ?)")
            params.append(f"%{name}%")
        rows = conn.execute(f"SELECT * FROM transactions WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?",
                            (*params, limit + 1, (page - 1) * limit)).fetchall()
        more = len(rows) > limit
        next_url = None
        if more:
            query = {k: v for k, v in inputs.values.items() if k != "page" and isinstance(v, str)}
            query["page"] = str(page + 1)
            next_url = f"{base_url}?{urlencode(query)}"
        return {"data": [self.transaction_json(row) for row in rows[:limit]], "next_url": next_url,
                "current_page": page, "per_page": limit}

    def _point_transactions_as_seen(self, conn: Any, inputs: Inputs, base_url: str, page: int,
                                    limit: int) -> dict[str, Any]:
        """E5 as third-party code uses it (page, limit, display_name) and nothing more: newest first."""
        where, params = ["1 = 1"], []
        if (name := inputs.text("display_name")) is not None:
            where.append("user_id IN (SELECT id FROM users WHERE display_name LIKE ?)")
            params.append(f"%{name}%")
        rows = conn.execute(f"SELECT * FROM transactions WHERE {' AND '.join(where)} ORDER BY id DESC"
                            f" LIMIT ? OFFSET ?", (*params, limit + 1, (page - 1) * limit)).fetchall()
        next_url = None
        if len(rows) > limit:
            query = {k: v for k, v in (("display_name", name), ("limit", str(limit))) if v}
            query["page"] = str(page + 1)
            next_url = f"{base_url}?{urlencode(query)}"
        return {"data": [self.transaction_json(row) for row in rows[:limit]], "next_url": next_url}

    @property
    def honours_keys(self) -> bool:
        return self.config.honour_idempotency and not self.config.strict

    def programme_body(self) -> dict[str, Any]:
        outlets = json.loads(self.store.meta("outlets") or "[]")
        return {"status": True, "version": self.programme_etag, "etag": self.programme_etag,
                "program": self.programme_doc, "outlets": outlets, "currency": self.currency}


# --- HTTP plumbing --------------------------------------------------------------------------------------------
WRITE_ROUTES: list[tuple[str, str]] = [
    ("integration/issue_point", "issue_point"),
    ("integration/issue_points", "issue_point"),
    ("integration/redeem", "redeem"),
    ("integration/point_transaction/void", "void_transaction"),
    ("integration/used_issued_reward/void", "void_used_reward"),
    ("integration/user/create", "user_create"),
    ("user", "user_create"),
    ("point/adjust", "point_adjust"),
]
READ_ROUTES: list[tuple[str, str]] = [
    ("integration/user/show", "user_show"),
    ("integration/point_transaction", "point_transactions"),
    ("business/list/user", "list_users"),
]


def _hollow(server: LoyaltyServer) -> Response:
    """A 2xx that says nothing: what a proxy, a half-deployed server or a misread contract can send."""
    choice = int(server.uniform(4.0)) % 4
    if choice == 0:
        return Response(status=204)
    if choice == 1:
        return Response("", 200, mimetype="application/json")
    if choice == 2:
        return _json({})
    return _json({"message": "OK"})


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                        mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error(failure: Failure) -> Response:
    return _json({"error": failure.errors}, failure.status, failure.headers)


def _merged_input() -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in request.args.items()}
    values.update({k: v for k, v in request.form.items()})
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            values.update(body)
    return values


def _request_hash(route: str, values: dict[str, Any], extra: str = "") -> str:
    canonical = json.dumps({"route": route, "input": values, "extra": extra}, sort_keys=True, default=str,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Dropped(Exception):
    """Raised by a view to make the connection die before the answer is complete."""


def _drop_connection() -> Response:
    raise _Dropped()


def create_app(server: LoyaltyServer) -> Flask:
    app = Flask("devtools.loyalty_server")
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    expected_auth = "Basic " + base64.b64encode(f"{server.config.api_key}:".encode()).decode()

    def authorised() -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user = base64.b64decode(header[6:]).decode("utf-8", "replace").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user.encode(), server.config.api_key.encode())
        return hmac.compare_digest(header.encode(), expected_auth.encode())

    def unauthenticated() -> Response:
        return _json({"error": {"exception": ["Unauthenticated."]}}, 401, {"WWW-Authenticate": 'Basic realm="api"'})

    def before_effect() -> Response | None:
        """Faults that strike before anything is applied."""
        faults = server.faults
        if faults.latency_ms or faults.latency_jitter_ms:
            delay = faults.latency_ms + server.uniform(faults.latency_jitter_ms)
            time.sleep(delay / 1000.0)
        if server.roll(faults.garbage_rate):
            return Response("<html><body><h1>Welcome to Guest Wi-Fi</h1>Please log in.</body></html>", 200,
                            mimetype="text/html")
        if server.roll(faults.rate_limit_rate):
            return _json({"error": {"exception": ["Too Many Attempts."]}}, 429,
                         {"Retry-After": f"{faults.retry_after:g}"})
        if server.roll(faults.hollow_rate):
            return _hollow(server)
        if server.roll(faults.error_rate):
            return _json({"error": {"exception": ["Server Error (injected)."]}}, 500)
        if server.roll(faults.drop_rate):
            return _drop_connection()
        return None

    def after_effect(response: Response) -> Response:
        """Faults that strike after the effect is committed: the work is done, the answer is lost."""
        faults = server.faults
        if server.roll(faults.error_after_commit_rate):
            return _json({"error": {"exception": ["Server Error after commit (injected)."]}}, 500)
        if server.roll(faults.drop_after_commit_rate):
            return _drop_connection()
        if server.roll(faults.hollow_after_commit_rate):
            return _hollow(server)
        return response

    def write_view(handler_name: str) -> Callable[..., Response]:
        def view(**path_args: Any) -> Response:
            if not authorised():
                return unauthenticated()
            early = before_effect()
            if early is not None:
                return early
            values = _merged_input()
            key = request.headers.get("Idempotency-Key", "").strip() or None
            request_hash = _request_hash(handler_name, values, json.dumps(path_args, sort_keys=True))
            handler = getattr(server, handler_name)
            try:
                with server.store.write() as conn:
                    if key and server.honours_keys:
                        seen = conn.execute("SELECT request_hash, status, body FROM idempotency WHERE key = ?",
                                            (key,)).fetchone()
                        if seen is not None:
                            if seen["request_hash"] != request_hash:
                                raise Failure(422, {"idempotency_key": [
                                    "This Idempotency-Key was already used with a different request."]})
                            replay = _json(json.loads(seen["body"]), seen["status"],
                                           {"Idempotent-Replayed": "true"})
                            return after_effect(replay)
                    body = handler(conn, Inputs(values), **path_args)
                    status = 201 if handler_name == "user_create" else 200
                    if key and server.honours_keys:
                        conn.execute("INSERT INTO idempotency(key, request_hash, status, body, created_at)"
                                     " VALUES (?,?,?,?,?)", (key, request_hash, status, json.dumps(body),
                                                             stored_time(utc_now())))
            except Failure as failure:
                return _error(failure)
            return after_effect(_json(body, status))
        view.__name__ = f"write_{handler_name}"
        return view

    def read_view(handler_name: str, paged: bool = False) -> Callable[..., Response]:
        def view(**path_args: Any) -> Response:
            if not authorised():
                return unauthenticated()
            early = before_effect()
            if early is not None:
                return early
            handler = getattr(server, handler_name)
            try:
                with server.store.read() as conn:
                    if paged:
                        body = handler(conn, Inputs(_merged_input()), request.base_url, **path_args)
                    else:
                        body = handler(conn, Inputs(_merged_input()), **path_args)
            except Failure as failure:
                return _error(failure)
            return after_effect(_json(body))
        view.__name__ = f"read_{handler_name}"
        return view

    def programme_view() -> Response:
        if not authorised():
            return unauthenticated()
        if server.config.strict:
            return _json({"error": {"exception": ["The requested resource was not found."]}}, 404)
        early = before_effect()
        if early is not None:
            return early
        etag = f'"{server.programme_etag}"'
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")] or \
                request.headers.get("If-None-Match", "").strip() == server.programme_etag:
            return Response(status=304, headers={"ETag": etag})
        return after_effect(_json(server.programme_body(), headers={"ETag": etag}))

    for prefix in PREFIXES:
        for path, name in WRITE_ROUTES:
            app.add_url_rule(f"{prefix}/{path}", f"{prefix}:{path}", write_view(name), methods=["POST"])
        for path, name in READ_ROUTES:
            app.add_url_rule(f"{prefix}/{path}", f"{prefix}:{path}", read_view(name, paged=name in (
                "list_users", "point_transactions")), methods=["GET"])
        app.add_url_rule(f"{prefix}/user/<int:user_id>", f"{prefix}:user-get", read_view("user_get"),
                         methods=["GET"])
        app.add_url_rule(f"{prefix}/user/<int:user_id>", f"{prefix}:user-update", write_view("user_update"),
                         methods=["POST"])
        app.add_url_rule(f"{prefix}/integration/program", f"{prefix}:program", programme_view, methods=["GET"])

    @app.route("/_faults", methods=["GET", "POST"])
    def faults_view() -> Response:
        if not authorised():
            return unauthenticated()
        if request.method == "POST":
            changes = request.get_json(silent=True)
            if not isinstance(changes, dict):
                return _json({"error": {"exception": ["Send a JSON object of fault switches."]}}, 400)
            try:
                server.set_faults(changes)
            except (ValueError, TypeError) as error:
                return _json({"error": {"exception": [str(error)]}}, 400)
        return _json(asdict(server.faults))

    @app.route("/_admin/transactions", methods=["GET"])
    def admin_transactions() -> Response:
        if not authorised():
            return unauthenticated()
        with server.store.read() as conn:
            rows = conn.execute("SELECT * FROM transactions ORDER BY id").fetchall()
            return _json({"data": [server.transaction_json(row) for row in rows]})

    @app.errorhandler(404)
    def missing(_error: Exception) -> Response:
        return _json({"error": {"exception": ["The requested resource was not found."]}}, 404)

    @app.errorhandler(405)
    def wrong_method(_error: Exception) -> Response:
        return _json({"error": {"exception": ["The method is not allowed for this resource."]}}, 405)

    @app.errorhandler(413)
    def too_large(_error: Exception) -> Response:
        return _json({"error": {"exception": ["The request is too large."]}}, 413)

    @app.errorhandler(Exception)
    def crashed(error: Exception) -> Response:
        if isinstance(error, _Dropped):
            raise error
        log.exception("reference server failed on %s %s", request.method, request.path)
        return _json({"error": {"exception": [f"Server Error: {type(error).__name__}"]}}, 500)

    return app


class _DropAwareApp:
    """WSGI wrapper that turns `_Dropped` into a connection cut mid-answer.

    The status line and a few bytes go out, then the server closes the connection short of the promised
    Content-Length: to the client this is a connection dropped mid-answer (urllib3 reports an incomplete read),
    and nothing in it says whether the request took effect. Done at the WSGI level, so it works the same on any
    server and any platform.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: Any, start_response: Any) -> Any:
        try:
            return self.app.wsgi_app(environ, start_response)
        except _Dropped:
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "4096")])
            return self._truncated()

    @staticmethod
    def _truncated() -> Any:
        yield b'{"status":'


class ReferenceServer:
    """The server on a background thread: `start()` returns the API base URL; `stop()` shuts it down.

    Served by waitress: a fixed pool of worker threads and HTTP/1.1 keep-alive, so a client's connection reuse is
    real (werkzeug's development server closes every connection after one answer).
    """

    def __init__(self, config: ServerConfig, host: str = "127.0.0.1", port: int = 0, threads: int = 6,
                 verbose: bool = False) -> None:
        self.config = config
        self.server = LoyaltyServer(config)
        self.app = create_app(self.server)
        # `_Dropped` must reach `_DropAwareApp`; every other error is answered by the catch-all handler.
        self.app.config["PROPAGATE_EXCEPTIONS"] = True
        if not verbose:
            # Short answers on purpose (dropped connections) and queueing under load are expected here.
            logging.getLogger("waitress").setLevel(logging.ERROR)
        self._http = create_server(_DropAwareApp(self.app), host=host, port=port, threads=threads,
                                   connection_limit=200, channel_timeout=60,
                                   ident="FrontDesk reference server")
        self._thread: threading.Thread | None = None
        self.host = host
        self.port = int(self._http.effective_port)  # type: ignore[union-attr]

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.root_url}/v3/public"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._serve_quietly, name="reference-server", daemon=True)
        self._thread.start()
        return self.api_url

    def _serve_quietly(self) -> None:
        try:
            self._http.run()
        except (OSError, ValueError):
            pass  # sockets closed under the loop by stop()

    def serve_forever(self) -> None:
        self._http.run()

    def stop(self) -> None:
        self._http.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        wasyncore.close_all(self._http._map)  # type: ignore[union-attr]
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.server.store.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devtools.loyalty_server", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on the first line)")
    parser.add_argument("--db", required=True, help="the server's SQLite file (created and seeded if missing)")
    parser.add_argument("--api-key", help="the accepted API key (default: $FRONTDESK_SERVER_API_KEY, else random)")
    parser.add_argument("--members", type=int, default=300, help="demo members to seed (same as the counter's)")
    parser.add_argument("--seed", type=int, default=7, help="demo seed (same seed = same members as the counter)")
    parser.add_argument("--programme", default=str(DEFAULT_PROGRAMME), help="programme file (TOML or JSON)")
    parser.add_argument("--region", default="SG", help="phone region for numbers without a phone_code")
    parser.add_argument("--no-idempotency", action="store_true", help="ignore Idempotency-Key headers")
    parser.add_argument("--strict", action="store_true",
                        help="serve only the documented contract: no Idempotency-Key, no programme endpoint, "
                             "E5 with page/limit/display_name only")
    parser.add_argument("--allow-duplicate-transaction-no", action="store_true",
                        help="accept a repeated (store, transaction_no)")
    parser.add_argument("--no-auto-create", action="store_true", help="404 instead of creating unknown phones")
    parser.add_argument("--threads", type=int, default=6, help="worker threads (default 6)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    faults = parser.add_argument_group("fault switches")
    faults.add_argument("--latency-ms", type=float, default=0.0)
    faults.add_argument("--latency-jitter-ms", type=float, default=0.0)
    faults.add_argument("--error-rate", type=float, default=0.0, help="500 before applying (0..1)")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="drop the connection before applying")
    faults.add_argument("--drop-after-commit-rate", type=float, default=0.0, help="apply, then drop the connection")
    faults.add_argument("--rate-limit-rate", type=float, default=0.0, help="429 with Retry-After")
    faults.add_argument("--retry-after", type=float, default=1.0, help="seconds sent with each 429")
    faults.add_argument("--error-after-commit-rate", type=float, default=0.0, help="apply, then answer 500")
    faults.add_argument("--garbage-rate", type=float, default=0.0, help="200 with an HTML page, nothing applied")
    faults.add_argument("--hollow-rate", type=float, default=0.0,
                        help="a 2xx without the success shape ({}, empty, 204, message OK), nothing applied")
    faults.add_argument("--hollow-after-commit-rate", type=float, default=0.0,
                        help="apply, then answer a 2xx without the success shape")
    faults.add_argument("--fault-seed", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    import os
    import signal

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    api_key = args.api_key or os.environ.get("FRONTDESK_SERVER_API_KEY") or token_source.token_urlsafe(24)
    try:
        faults = Faults().update({
            "latency_ms": args.latency_ms, "latency_jitter_ms": args.latency_jitter_ms, "error_rate": args.error_rate,
            "drop_rate": args.drop_rate, "drop_after_commit_rate": args.drop_after_commit_rate,
            "rate_limit_rate": args.rate_limit_rate, "retry_after": args.retry_after,
            "error_after_commit_rate": args.error_after_commit_rate, "garbage_rate": args.garbage_rate,
            "hollow_rate": args.hollow_rate, "hollow_after_commit_rate": args.hollow_after_commit_rate,
            "seed": args.fault_seed})
        config = ServerConfig(
            db_path=args.db, api_key=api_key, programme_path=args.programme, members=args.members, seed=args.seed,
            region=args.region, honour_idempotency=not args.no_idempotency,
            reject_duplicate_transaction_no=not args.allow_duplicate_transaction_no,
            auto_create_members=not args.no_auto_create, strict=args.strict, faults=faults)
        server = ReferenceServer(config, args.host, args.port, threads=max(1, args.threads), verbose=args.verbose)
    except (ValueError, ProgrammeError, OSError) as error:
        print(f"cannot start the reference server: {error}", file=sys.stderr)
        return 2
    print(server.api_url, flush=True)
    if not args.api_key and not os.environ.get("FRONTDESK_SERVER_API_KEY"):
        print(f"API key (generated): {api_key}", flush=True)
    print(f"also under {server.root_url}/api/v3; fault switches at {server.root_url}/_faults", flush=True)

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
