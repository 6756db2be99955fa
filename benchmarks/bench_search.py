"""Member search at scale: exact lookups and type-ahead on a 1,000,000-member cache.

Builds (or reuses) a demo database (with visit history), then times the search service against a raw `sqlite3`
query doing the same index work, so the cost of our layer is visible. Prints p50/p95/p99 in milliseconds and the
ratio of medians. Then the ranking trials: for members who visited this outlet in the last 90 days, is the member in
the top 5 for their last 4 digits, and found at all for a 5-digit fragment from the middle of their number; beside
the old ordering (last-4 by name, no fragment index) on the same file.

    python benchmarks/bench_search.py --members 1000000 --db benchmarks/out/members-1m.sqlite
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from frontdesk.demo.generator import build_demo_database
from frontdesk.domain import phone as phones
from frontdesk.members.lookup import LookupService, scan_code_resolver
from frontdesk.search import SearchService
from frontdesk.search.service import _COLUMNS
from frontdesk.store import make_read_engine


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


def timed(fn, queries):  # type: ignore[no-untyped-def]
    out = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - start) * 1000)
    return out


def timed_side_by_side(ours, baseline, queries):  # type: ignore[no-untyped-def]
    """Each query through both, alternately, so a busy machine slows both sides alike. Who goes first alternates
    too: the first to look a query up pays for reading its pages from disk when they are not cached (a cache cooled
    by other work), and the second finds them warm."""
    mine: list[float] = []
    theirs: list[float] = []
    for n, q in enumerate(queries):
        pair = ((ours, mine), (baseline, theirs))
        for fn, out in (pair if n % 2 == 0 else pair[::-1]):
            start = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - start) * 1000)
    return mine, theirs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--db", default="benchmarks/out/members-1m.sqlite")
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    path = Path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        start = time.perf_counter()
        build_demo_database(path, members=args.members, history_members=2000)
        print(f"build: {args.members:,} members in {time.perf_counter() - start:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)")

    raw = sqlite3.connect(str(path))
    rng = random.Random(1)
    n = raw.execute("SELECT max(id) FROM members").fetchone()[0]
    sample = [raw.execute("SELECT phone_e164, email, member_no, first_name, last_name, id FROM members WHERE id=?",
                          (rng.randrange(1, n + 1),)).fetchone() for _ in range(args.queries)]
    codes = [raw.execute("SELECT code FROM member_codes WHERE member_id=?", (s[5],)).fetchone()[0] for s in sample]
    outlet = "BUGIS"
    service = SearchService(make_read_engine(path), outlet_code=outlet)
    # The search box as the app wires it: every query is first read as a scanned code (signed cards, Eber codes,
    # vouchers), which is what a receptionist's lookup pays for.
    counter = LookupService(make_read_engine(path), code_resolver=scan_code_resolver("bench-card-key", "SG"),
                            outlet_code=outlet)

    rows: list[tuple[str, list[float], list[float]]] = []
    cases = [
        ("exact phone (E.164)", [s[0] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT id FROM members WHERE phone_e164=?", (q,)).fetchall()),
        ("exact phone, raw reads the same columns", [s[0] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             f"SELECT {_COLUMNS} FROM members m WHERE m.phone_e164=?", (q,)).fetchall()),
        ("exact phone, the counter's lookup (resolver)", [s[0] for s in sample],
         lambda q: counter.search(q), lambda q: raw.execute(
             "SELECT id FROM members WHERE phone_e164=?", (q,)).fetchall()),
        ("exact phone typed nationally, counter lookup", [s[0][3:7] + " " + s[0][7:] for s in sample],
         lambda q: counter.search(q), lambda q: raw.execute(
             "SELECT id FROM members WHERE phone_e164=?", ("+65" + q.replace(" ", ""),)).fetchall()),
        ("exact email", [s[1] for s in sample if s[1]],
         lambda q: service.search(q), lambda q: raw.execute("SELECT id FROM members WHERE email=?", (q,)).fetchall()),
        ("exact member ID", [s[2] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT id FROM members WHERE member_no=? COLLATE NOCASE", (q,)).fetchall()),
        ("exact QR token", codes,
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT member_id FROM member_codes WHERE code=?", (q,)).fetchall()),
        ("type-ahead last 4 digits", [s[0][-4:] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT id FROM members WHERE phone_rev GLOB ? LIMIT 21", (q[::-1] + "*",)).fetchall()),
        ("type-ahead 5-digit middle fragment", [s[0][4:9] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT m.id FROM phone_fragments f JOIN members m ON m.id = f.member_id WHERE f.gram = ? "
             "AND instr(m.phone_e164, ?) > 0 LIMIT 21", (q, q)).fetchall()),
        ("type-ahead name prefix (1 word, 3 chars)", [s[4][:3] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT rowid FROM members_fts WHERE members_fts MATCH ? LIMIT 21", (f'"{q.lower()}"*',)).fetchall()),
        ("type-ahead name, 2 words any order", [f"{s[4][:3]} {s[3].split()[0][:2]}" for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT rowid FROM members_fts WHERE members_fts MATCH ? LIMIT 21",
             (" AND ".join(f'"{w.lower()}"*' for w in q.split()),)).fetchall()),
        ("type-ahead name, 1 letter", [s[3][:1] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT rowid FROM members_fts WHERE members_fts MATCH ? LIMIT 21", (f'"{q.lower()}"*',)).fetchall()),
    ]
    for label, queries, ours, baseline in cases:
        for q in queries[:50]:  # warm the page cache the way a running counter's would be
            ours(q)
        for q in queries[:50]:
            baseline(q)
        phones.normalise.cache_clear()  # the warm-up must not leave our side parsed answers to the timed queries
        rows.append((label, *timed_side_by_side(ours, baseline, queries)))

    print(f"\n{'query':<46} {'service p50/p95/p99 ms':>26} {'raw sqlite3 p50/p95/p99 ms':>30} {'ratio p50':>9}")
    for label, ours, base in rows:
        a, b = percentiles(ours), percentiles(base)
        print(f"{label:<46} {a[0]:>8.3f} {a[1]:>8.3f} {a[2]:>8.3f} {b[0]:>10.3f} {b[1]:>9.3f} {b[2]:>9.3f} "
              f"{a[0] / b[0]:>8.1f}x")
    ranking_trials(raw, service, outlet, rng, args.queries)


def ranking_trials(raw: sqlite3.Connection, service: SearchService, outlet: str, rng: random.Random,
                   count: int) -> None:
    cutoff = (datetime.now(timezone.utc) - timedelta(days=90)).isoformat(timespec="microseconds")
    recent = [r[0] for r in raw.execute(
        "SELECT member_id FROM member_visits WHERE outlet_code = ? AND last_visit_at >= ?", (outlet, cutoff))]
    trials = [raw.execute("SELECT id, phone_e164 FROM members WHERE id = ?", (rng.choice(recent),)).fetchone()
              for _ in range(count)]
    top5 = old_top5 = found = old_found = 0
    fragment_ms: list[float] = []
    for member_id, phone in trials:
        top5 += member_id in [h.id for h in service.search(phone[-4:]).hits[:5]]
        # Before: the first 20 suffix matches by name, prefix matches mixed in; no way to find a middle fragment.
        old = raw.execute("SELECT id FROM (SELECT id, search_name FROM members WHERE phone_rev GLOB ? LIMIT 21) "
                          "ORDER BY search_name LIMIT 5", (phone[-4:][::-1] + "*",)).fetchall()
        old_top5 += member_id in [r[0] for r in old]
        fragment = phone[4:9]  # +65 9 [1234 5] 67: five digits from the middle of the national number
        start = time.perf_counter()
        hits = service.search(fragment).hits
        fragment_ms.append((time.perf_counter() - start) * 1000)
        found += member_id in [h.id for h in hits]
        old_hits = raw.execute("SELECT id FROM members WHERE phone_rev GLOB ? LIMIT 21",
                               (fragment[::-1] + "*",)).fetchall()
        old_found += member_id in [r[0] for r in old_hits]
    p50, p95, p99 = percentiles(fragment_ms)
    print(f"\nranking trials at outlet {outlet}: {count} members who visited it in the last 90 days "
          f"({len(recent):,} such members)")
    print(f"last 4 digits, member in the top 5:     service {100 * top5 / count:5.1f}%   "
          f"before (by name) {100 * old_top5 / count:5.1f}%")
    print(f"5-digit middle fragment, member found:  service {100 * found / count:5.1f}%   "
          f"before (suffix only) {100 * old_found / count:5.1f}%   service p50/p95/p99 "
          f"{p50:.3f}/{p95:.3f}/{p99:.3f} ms")


if __name__ == "__main__":
    main()
