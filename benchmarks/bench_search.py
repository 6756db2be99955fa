"""Member search at scale: exact lookups and type-ahead on a 1,000,000-member cache.

Builds (or reuses) a demo database, then times the search service against a raw `sqlite3` query doing the same
index work, so the cost of our layer is visible. Prints p50/p95/p99 in milliseconds.

    python benchmarks/bench_search.py --members 1000000 --db benchmarks/out/members-1m.sqlite
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import time
from pathlib import Path

from frontdesk.demo.generator import build_demo_database
from frontdesk.search import SearchService
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
    service = SearchService(make_read_engine(path))

    rows: list[tuple[str, list[float], list[float]]] = []
    cases = [
        ("exact phone (E.164)", [s[0] for s in sample],
         lambda q: service.search(q), lambda q: raw.execute(
             "SELECT id FROM members WHERE phone_e164=?", (q,)).fetchall()),
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
        rows.append((label, timed(ours, queries), timed(baseline, queries)))

    print(f"\n{'query':<42} {'service p50/p95/p99 ms':>26} {'raw sqlite3 p50/p95/p99 ms':>30}")
    for label, ours, base in rows:
        a, b = percentiles(ours), percentiles(base)
        print(f"{label:<42} {a[0]:>8.3f} {a[1]:>8.3f} {a[2]:>8.3f} {b[0]:>10.3f} {b[1]:>9.3f} {b[2]:>9.3f}")


if __name__ == "__main__":
    main()
