"""Realistic Singapore salon members, deterministic by seed, fast enough for a million rows.

Names mix Chinese, Malay, Indian and Western given names as a Singapore client book does; phones are valid SG
mobiles; about 1 in 60 members shares a phone with a parent (children on a parent's number); some have no email.
Visit history is that of a large client book: about 2% of members visited in the last 90 days (some 11,000
distinct clients per outlet at a million members, mostly at their home outlet), a quarter within the year, many
longer ago, some never; each member's per-outlet visits land in `member_visits` so the search can rank who is likely
at the counter. Both the counter database and the reference loyalty server are seeded from the same records, so a
demo counter and its demo server agree about who exists.
"""
from __future__ import annotations

import functools
import random
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from frontdesk.domain.members import search_name
from frontdesk.domain.pins import hash_pin
from frontdesk.store.db import upgrade_database

CHINESE_SURNAMES = ["Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Chan", "Koh", "Teo", "Ang", "Yeo", "Tay",
                    "Ho", "Low", "Toh", "Sim", "Chong", "Chia", "Seah", "Foo", "Heng", "Quek", "Loh", "Pang", "Soh"]
CHINESE_GIVEN = ["Mei Ling", "Wei Jie", "Xin Yi", "Jun Hao", "Hui Min", "Zhi Hao", "Li Ting", "Jia Hui", "Kai Wen",
                 "Shu Fen", "Yi Xuan", "Wen Jun", "Siew Lan", "Ah Hock", "Bee Leng", "Hui Shan", "Jing Yi", "Zi Xuan"]
MALAY_GIVEN = ["Nur Aisyah", "Siti Nurhaliza", "Muhammad Irfan", "Nurul Huda", "Ahmad Faizal", "Farah Diana",
               "Hafiz", "Aishah", "Zulkifli", "Syafiqah", "Amirah", "Haziq", "Nadia", "Iskandar"]
MALAY_FAMILY = ["binte Rahman", "bin Ismail", "binte Hassan", "bin Osman", "binte Yusof", "bin Salleh", "binte Ali"]
INDIAN_GIVEN = ["Priya", "Arun", "Kavitha", "Rajesh", "Lakshmi", "Suresh", "Deepa", "Vikram", "Anjali", "Karthik",
                "Meena", "Ravi", "Divya", "Sanjay"]
INDIAN_FAMILY = ["Kumar", "Nair", "Pillai", "Raj", "Menon", "Singh", "Subramaniam", "Krishnan", "Rao", "Iyer"]
WESTERN_GIVEN = ["Chloé", "Zoë", "Renée", "Olivia", "Emma", "Sophie", "Daniel", "James", "Hannah", "Noah", "Amélie",
                 "Grace", "Ethan", "Isabelle", "Lucas", "Mia"]
WESTERN_FAMILY = ["Smith", "Brown", "Müller", "O'Brien", "García", "Fernandes", "Taylor", "Wilson", "Martin"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com.sg", "hotmail.com", "outlook.com", "singnet.com.sg", "icloud.com"]
TIERS = [("CLASSIC", "Classic", 0, "#7a8794"), ("SILVER", "Silver", 1, "#8e9aa6"), ("GOLD", "Gold", 2, "#b8862b"),
         ("PLATINUM", "Platinum", 3, "#5b5f97")]
TIER_WEIGHTS = [60, 25, 12, 3]
OUTLETS = [("BUGIS", "Bugis", "Asia/Singapore"), ("TAMPINES", "Tampines Mall", "Asia/Singapore")]
STAFF = [("S01", "Jason Lim", "receptionist", "1111"), ("S02", "Aisha Rahman", "receptionist", "2222"),
         ("S03", "Mei Tan", "manager", "9999"), ("S04", "Priya Nair", "receptionist", "3333")]


def demo_pins_hint() -> str:
    """What the demo counter's sign-in shows a newcomer: who the demo staff are and their PINs."""
    people = " · ".join(f"{name} {pin}" + (" (manager)" if role == "manager" else "")
                        for _code, name, role, pin in STAFF)
    return f"Demo counter — PINs: {people}"


SERVICES = [("Ladies Cut & Blow", "SVC-CUT-L", "Hair", 6800), ("Men's Cut", "SVC-CUT-M", "Hair", 3800),
            ("Colour Retouch", "SVC-COL-R", "Colour", 12000), ("Full Head Highlights", "SVC-COL-H", "Colour", 22000),
            ("Scalp Spa", "SVC-SPA-S", "Spa", 8800), ("Keratin Treatment", "SVC-TRT-K", "Treatment", 28000),
            ("Repair Shampoo 250ml", "PRD-SHA-250", "Retail", 3200), ("Hair Serum 100ml", "PRD-SER-100", "Retail", 4500)]
NOTES = ["Prefers Jason", "Sensitive scalp: patch test before colour", "Allergic to ammonia", "Likes quiet sessions",
         "Usually books Saturday mornings", "VIP: offer tea on arrival"]



@dataclass(frozen=True)
class DemoMember:
    server_id: int
    member_no: str
    first_name: str
    last_name: str
    phone_e164: str
    email: str | None
    tier_code: str
    points_balance: int
    lifetime_points: int
    points_expiring: int
    points_expiring_on: date | None
    birthday: date | None
    notes: str
    qr_token: str
    window_spend_minor: int
    visits_count: int


_NAME_POOLS = [(0.55, CHINESE_GIVEN, CHINESE_SURNAMES), (0.72, MALAY_GIVEN, MALAY_FAMILY),
               (0.88, INDIAN_GIVEN, INDIAN_FAMILY), (1.0, WESTERN_GIVEN, WESTERN_FAMILY)]


def _name(rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    for edge, given, family in _NAME_POOLS:
        if roll < edge:
            break
    return given[int(rng.random() * len(given))], family[int(rng.random() * len(family))]


@functools.lru_cache(maxsize=4096)
def _email_local(first: str, last: str) -> str:
    from frontdesk.domain.text import fold

    cleaned = "".join(ch for ch in fold(f"{first}.{last}").replace(" ", "") if ch.isalnum() or ch == ".")
    return cleaned or "member"


# Spend over the last 365 days that keeps each demo tier (the demo programme's thresholds, in cents). About one in
# seven members has slipped below their tier's threshold, so the desk shows realistic downgrade warnings.
_TIER_SPEND = {"CLASSIC": (0, 80_000), "SILVER": (80_000, 200_000), "GOLD": (200_000, 500_000),
               "PLATINUM": (500_000, 800_000)}


def _window_spend(tier: str, uniform: Callable[[], float]) -> int:
    low, high = _TIER_SPEND[tier]
    if low and uniform() < 0.15:
        return int(low * (0.7 + 0.3 * uniform()))
    return low + int(uniform() * (high - low))


def generate_members(count: int, seed: int = 7, today: date | None = None) -> Iterator[DemoMember]:
    rng = random.Random(seed)
    uniform = rng.random

    def below(n: int) -> int:
        # int(random() * n) rather than randrange: a third of the cost, which matters at a million members.
        return int(uniform() * n)

    today = today or date(2026, 11, 1)
    tier_codes = [t[0] for t in TIERS]
    tier_rank = {t[0]: t[2] for t in TIERS}
    tier_cumulative = [sum(TIER_WEIGHTS[: i + 1]) / sum(TIER_WEIGHTS) for i in range(len(TIERS))]
    used_phones: set[int] = set()
    parent_phones: list[str] = []
    for index in range(count):
        first, last = _name(rng)
        if parent_phones and uniform() < 1 / 60:
            phone = parent_phones[below(len(parent_phones))]  # a child on a parent's number
        else:
            while True:
                number = (8 if uniform() < 0.5 else 9) * 10_000_000 + 1_000_000 + below(7_999_999)
                if number not in used_phones and number < 99_000_000:
                    used_phones.add(number)
                    break
            phone = f"+65{number}"
            if len(parent_phones) < 5000 and uniform() < 0.05:
                parent_phones.append(phone)
        roll = uniform()
        tier = next(code for code, edge in zip(tier_codes, tier_cumulative) if roll <= edge)
        lifetime = below(20000) * (1 + tier_rank[tier])
        balance = below(lifetime // 2 + 1)
        expiring = below(balance // 4 + 1) if balance and uniform() < 0.3 else 0
        birthday = date(1955 + below(57), 1 + below(12), 1 + below(28)) if uniform() < 0.85 else None
        email = None
        if uniform() < 0.8:
            email = f"{_email_local(first, last)}{index}@{EMAIL_DOMAINS[below(len(EMAIL_DOMAINS))]}"
        yield DemoMember(
            server_id=100_000 + index,
            member_no=f"M{1_000_000 + index}",
            first_name=first,
            last_name=last,
            phone_e164=phone,
            email=email,
            tier_code=tier,
            points_balance=balance,
            lifetime_points=lifetime,
            points_expiring=expiring,
            points_expiring_on=today + timedelta(days=5 + below(85)) if expiring else None,
            birthday=birthday,
            notes=NOTES[below(len(NOTES))] if uniform() < 0.1 else "",
            qr_token=f"EB{rng.getrandbits(64):016X}",
            window_spend_minor=_window_spend(tier, uniform),
            visits_count=below(60),
        )


def build_demo_database(path: str | Path, members: int = 300, seed: int = 7, history_members: int = 2000,
                        today: date | None = None) -> int:
    """Create (or extend) a counter database with `members` demo members; returns how many were written.

    Bulk-loads through the DB-API in one transaction; the schema itself comes from the migrations.
    """
    path = Path(path)
    upgrade_database(path)
    rng = random.Random(seed + 1)
    now = datetime.now(timezone.utc)
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # a fresh build is re-runnable; no need to fsync every page
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT OR IGNORE INTO tiers(code, name, rank, colour) VALUES (?,?,?,?)", TIERS)
        conn.executemany("INSERT OR IGNORE INTO outlets(code, name, timezone) VALUES (?,?,?)", OUTLETS)
        if conn.execute("SELECT count(*) FROM staff").fetchone()[0] == 0:
            conn.executemany(
                "INSERT INTO staff(code, name, role, pin_hash, active, failed_pin_attempts) VALUES (?,?,?,?,1,0)",
                [(code, name, role, hash_pin(pin)) for code, name, role, pin in STAFF])
        stamp = now.isoformat(timespec="microseconds")
        # Into an empty cache, load first and index after: sorted index builds and one FTS rebuild are several times
        # faster than maintaining every index row by row. The index definitions are read back from the schema the
        # migrations made, so this never drifts from them.
        empty = conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0 and members > 10_000
        deferred = _drop_member_indexes(conn) if empty else []
        written = 0
        batch: list[tuple[object, ...]] = []
        codes: list[tuple[object, ...]] = []
        visits: list[tuple[object, ...]] = []
        # A separate stream, so adding visit history left every member's name, phone and points as they were.
        visit_rng = random.Random(seed * 7919 + 13)
        start_id = (conn.execute("SELECT coalesce(max(id), 0) FROM members").fetchone()[0]) + 1
        for offset, m in enumerate(generate_members(members, seed, today)):
            member_id = start_id + offset
            member_visits = _visits(visit_rng, member_id, now)
            visits += member_visits
            digits_rev = m.phone_e164[1:][::-1]
            batch.append((
                member_id, m.server_id, m.member_no, m.first_name, m.last_name, f"{m.first_name} {m.last_name}",
                _folded_name(m.first_name, m.last_name), m.phone_e164, m.phone_e164, digits_rev, m.email, m.tier_code,
                m.points_balance, m.lifetime_points, m.points_expiring,
                m.points_expiring_on.isoformat() if m.points_expiring_on else None,
                m.birthday.isoformat() if m.birthday else None, m.notes, m.window_spend_minor,
                sum(int(v[2]) for v in member_visits),  # type: ignore[call-overload]
                max((str(v[3]) for v in member_visits), default=None), stamp, stamp, stamp,
            ))
            codes.append((m.qr_token, member_id, "eber", stamp))
            if len(batch) >= 20_000:
                _flush(conn, batch, codes, visits)
                written += len(batch)
                batch, codes, visits = [], [], []
        if batch:
            _flush(conn, batch, codes, visits)
            written += len(batch)
        if deferred:
            for statement in deferred:
                conn.execute(statement)
            conn.execute("INSERT INTO members_fts(members_fts) VALUES ('rebuild')")
            _fill_phone_fragments(conn, start_id)
        _add_history(conn, rng, start_id, min(history_members, written), now)
        conn.execute("COMMIT")
        conn.execute("PRAGMA optimize")
    finally:
        conn.close()
    return written


# Demo names come from short lists, so folding each distinct name once saves most of the work at a million rows.
_folded_name = functools.lru_cache(maxsize=8192)(search_name)


def _drop_member_indexes(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('members', 'member_codes') "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL").fetchall()
    for kind, name, _sql in rows:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    # Indexes first, then triggers, so the FTS triggers come back only after the rebuild has what they maintain.
    return [sql for kind, _n, sql in rows if kind == "index"] + [sql for kind, _n, sql in rows if kind == "trigger"]


def _visits(rng: random.Random, member_id: int, now: datetime) -> list[tuple[object, ...]]:
    """(member_id, outlet, visits, last_visit_at) rows for one member: a home outlet, sometimes the other one too."""
    roll = rng.random()
    if roll < 0.02:
        days = rng.random() * 90
    elif roll < 0.30:
        days = 90 + rng.random() * 275
    elif roll < 0.75:
        days = 365 + rng.random() * 1100
    else:
        return []
    home, other = (OUTLETS[0][0], OUTLETS[1][0]) if rng.random() < 0.55 else (OUTLETS[1][0], OUTLETS[0][0])
    last = now - timedelta(days=days, minutes=int(rng.random() * 600))
    rows: list[tuple[object, ...]] = [(member_id, home, 1 + int(rng.random() * 20),
                                       last.isoformat(timespec="microseconds"))]
    if rng.random() < 0.2:
        earlier = last - timedelta(days=1 + rng.random() * 400)
        rows.append((member_id, other, 1 + int(rng.random() * 3), earlier.isoformat(timespec="microseconds")))
    return rows


def _fill_phone_fragments(conn: sqlite3.Connection, first_id: int) -> None:
    """What the 0016 triggers do row by row, done in one sorted pass for members loaded with triggers off: each
    distinct 5-digit window, 0 in `inside` when it ends the number, the member's search name and last-seen day."""
    offsets = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(1, 12))
    conn.execute(
        "INSERT INTO phone_fragments(gram, inside, sort_name, member_id, seen_day) "
        "SELECT substr(substr(m.phone_e164, 2), o.n, 5) AS gram, "
        "min(CASE WHEN o.n + 5 = length(m.phone_e164) THEN 0 ELSE 1 END), m.search_name, m.id, "
        "CASE WHEN m.last_visit_at IS NULL THEN NULL "
        "ELSE coalesce(CAST(julianday(m.last_visit_at) AS INTEGER), 99999999) END "
        f"FROM members m, ({offsets}) AS o "
        "WHERE m.id >= ? AND m.phone_e164 IS NOT NULL AND o.n + 4 <= length(m.phone_e164) - 1 "
        "GROUP BY m.id, 1 ORDER BY 1, 2, 3, 4", (first_id,))


def _flush(conn: sqlite3.Connection, members: list[tuple[object, ...]], codes: list[tuple[object, ...]],
           visits: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO members(id, server_id, member_no, first_name, last_name, display_name, search_name, phone_e164,"
        " phone_raw, phone_rev, email, tier_code, points_balance, lifetime_points, points_expiring,"
        " points_expiring_on, birthday, notes, window_spend_minor, visits_count, last_visit_at, marketing_consent,"
        " status, stored_value_minor, window_points, created_at, updated_at, server_updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,'active',0,0,?,?,?)", members)
    conn.executemany("INSERT INTO member_codes(code, member_id, kind, created_at) VALUES (?,?,?,?)", codes)
    conn.executemany("INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at) VALUES (?,?,?,?)",
                     visits)


def _add_history(conn: sqlite3.Connection, rng: random.Random, first_id: int, count: int, now: datetime) -> None:
    """Past, already-synced sales for the first `count` members, so the panel has recent visits to show."""
    staff_ids = [r[0] for r in conn.execute("SELECT id FROM staff ORDER BY id")]
    receipt = conn.execute("SELECT count(*) FROM sales").fetchone()[0] + 10_000
    for member_id in range(first_id, first_id + count):
        for _ in range(rng.randrange(0, 5)):
            receipt += 1
            when = now - timedelta(days=rng.randrange(1, 180), minutes=rng.randrange(0, 600))
            lines = rng.sample(SERVICES, rng.randrange(1, 3))
            subtotal = sum(price for *_, price in lines)
            tax = round(subtotal * 9 / 109)
            points = subtotal // 100
            stamp = when.isoformat(timespec="microseconds")
            outlet = rng.choice(OUTLETS)[0]
            cur = conn.execute(
                "INSERT INTO sales(kind, receipt_no, outlet_code, counter_id, sales_mode, staff_id, member_id,"
                " occurred_at, currency, subtotal_minor, tax_minor, service_charge_minor, discount_minor,"
                " total_minor, points_earned, points_redeemed, server_points, status, server_transaction_id,"
                " provisional, receipt_text, note, created_at) VALUES ('sale',?,?,'C1','counter',?,?,?,'SGD',?,?,0,0,"
                "?,?,0,?,'synced',?,0,'','',?)",
                (f"T{receipt}", outlet, rng.choice(staff_ids), member_id, stamp, subtotal, tax, subtotal, points,
                 points, str(900_000 + receipt), stamp))
            sale_id = cur.lastrowid
            for line_no, (name, sku, category, price) in enumerate(lines, 1):
                conn.execute(
                    "INSERT INTO sale_items(sale_id, line_no, name, sku, category, quantity, unit_price_minor,"
                    " tax_minor, service_charge_minor, discount_minor, total_minor, staff_code, points, explanation)"
                    " VALUES (?,?,?,?,?,1,?,?,0,0,?,'',?,'')",
                    (sale_id, line_no, name, sku, category, price, round(price * 9 / 109), price, price // 100))
            conn.execute("INSERT INTO sale_payments(sale_id, method, amount_minor, reference) VALUES (?,?,?,'')",
                         (sale_id, rng.choice(["card", "cash", "nets"]), subtotal))
            conn.execute(
                "INSERT INTO points_ledger(member_id, sale_id, kind, points, reason, outlet_code, occurred_at, status)"
                " VALUES (?,?,'earn',?,'purchase',?,?,'confirmed')", (member_id, sale_id, points, outlet, stamp))
