"""Outbox drain throughput: 10,000 queued sales delivered to the reference server on 127.0.0.1, in both server
modes (the reference contract, and `--strict`: only what the public API documents), with and without 20% of the
answers being 429 Too Many Requests (Retry-After 1 s).

Measured next to a plain `requests.Session` loop posting the very same form payloads one after another, so the
cost of the worker itself (ordering, claims, building each request from the database, batched commits, answer
checks) is visible. Every run gets a fresh copy of the counter and a fresh server database.
Targets: at least 200 transactions/s and within 1.5x of the plain loop without faults; with 20% 429s, at most 3x
slower than without; zero duplicates and nothing left undelivered in every run.

    python benchmarks/bench_drain.py                 # 10,000 entries
    python benchmarks/bench_drain.py --count 2000 --threads 4
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from frontdesk.demo.generator import build_demo_database  # noqa: E402
from frontdesk.store.db import make_engine  # noqa: E402
from sync.client import ApiConfig, LoyaltyClient  # noqa: E402
from sync.outbox import OutboxWorker, WorkerOptions  # noqa: E402

API_KEY = "bench-" + uuid.uuid4().hex
SERVICES = [("Ladies Cut & Blow", "SVC-CUT-L", "Hair", 6800), ("Scalp Spa", "SVC-SPA-S", "Spa", 8800),
            ("Repair Shampoo 250ml", "PRD-SHA-250", "Retail", 3200)]


def start_server(db: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.loyalty_server", "--port", "0", "--db", str(db), "--api-key", API_KEY,
         *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        raise SystemExit(f"server did not start: {url!r}")
    return process, url


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=10)


def queue(counter: Path, count: int, members: int) -> list[tuple[str, dict[str, str]]]:
    """`count` finished sales with items, payment, ledger row and outbox entry, as the checkout writes them."""
    now = datetime.now(timezone.utc)
    stamp = now.isoformat(timespec="microseconds")
    api_time = now.strftime("%Y-%m-%d %H:%M:%S")
    run = uuid.uuid4().hex[:6]
    payloads: list[tuple[str, dict[str, str]]] = []
    conn = sqlite3.connect(str(counter), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for index in range(count):
            member_id = 1 + index % members
            name, sku, category, price = SERVICES[index % len(SERVICES)]
            receipt = f"B{run}-{index:06d}"
            total = f"{price // 100}.{price % 100:02d}"
            cur = conn.execute(
                "INSERT INTO sales(kind, receipt_no, outlet_code, counter_id, sales_mode, staff_id, member_id,"
                " occurred_at, currency, subtotal_minor, tax_minor, service_charge_minor, discount_minor,"
                " total_minor, points_earned, points_redeemed, status, provisional, receipt_text, note, created_at)"
                " VALUES ('sale',?,'TAMPINES','C1','counter',1,?,?,'SGD',?,0,0,0,?,?,0,'pending',0,'','',?)",
                (receipt, member_id, stamp, price, price, price // 100, stamp))
            sale_id = cur.lastrowid
            conn.execute("INSERT INTO sale_items(sale_id, line_no, name, sku, category, quantity, unit_price_minor,"
                         " tax_minor, service_charge_minor, discount_minor, total_minor, staff_code, points,"
                         " explanation) VALUES (?,1,?,?,?,1,?,0,0,0,?,'',0,'')",
                         (sale_id, name, sku, category, price, price))
            conn.execute("INSERT INTO sale_payments(sale_id, method, amount_minor, reference) VALUES (?,'card',?,'')",
                         (sale_id, price))
            conn.execute("INSERT INTO points_ledger(member_id, sale_id, kind, points, reason, outlet_code,"
                         " occurred_at, status) VALUES (?,?,'earn',?,'purchase','TAMPINES',?,'pending')",
                         (member_id, sale_id, price // 100, stamp))
            params = {
                "user_id": str(100_000 + member_id - 1), "amount": total, "transaction_no": receipt,
                "custom_store_id": "TAMPINES", "custom_store_code": "TAMPINES", "custom_staff_id": "S01",
                "tax": "0.00", "service_charge": "0.00", "discount": "0.00", "utc_transaction_created_at": api_time,
                "item_data_json": json.dumps([{"name": name, "sku": sku, "category": category, "quantity": 1,
                                               "unit_amount": total, "total_amount": total}], separators=(",", ":")),
                "payment_data_json": json.dumps([{"name": "VISA", "amount": total, "description": ""}],
                                                separators=(",", ":")),
            }
            key = uuid.uuid4().hex
            conn.execute("INSERT INTO outbox(idempotency_key, kind, partition_key, sale_id, member_id, payload,"
                         " status, attempts, response, created_at) VALUES (?,'sale',?,?,?,?,'pending',0,'{}',?)",
                         (key, f"member:{member_id}", sale_id, member_id,
                          json.dumps({"v": 2, "sale_id": sale_id}),
                          stamp))
            payloads.append((key, params))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return payloads


def count_server_purchases(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(str(db))
    try:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT store || '|' || transaction_no) FROM"
                                       " transactions WHERE type = 'purchase'").fetchone()
    finally:
        conn.close()
    return int(total), int(distinct)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--dir", help="working directory (default: a temporary one)")
    args = parser.parse_args()
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-drain-"))
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("*.sqlite*"):
        old.unlink()

    counter = work / "counter.sqlite"
    build_demo_database(counter, members=args.members, seed=7, history_members=0)
    started = time.perf_counter()
    payloads = queue(counter, args.count, args.members)
    print(f"queued {args.count} sales for {args.members} members in {time.perf_counter() - started:.1f} s")

    # 1. The outbox worker, in both server modes, without and with 20% 429 answers.
    runs: dict[str, tuple[float, int, int, int, int]] = {}
    for name, extra in (("reference", ()), ("strict", ("--strict",)),
                        ("reference + 20% 429", ("--rate-limit-rate", "0.2", "--retry-after", "1")),
                        ("strict + 20% 429", ("--strict", "--rate-limit-rate", "0.2", "--retry-after", "1"))):
        copy = work / f"counter-{len(runs)}.sqlite"
        shutil.copy2(counter, copy)
        server_db = work / f"server-{len(runs)}.sqlite"
        process, url = start_server(server_db, *extra)
        try:
            engine = make_engine(copy)
            worker = OutboxWorker(engine, LoyaltyClient(ApiConfig(base_url=url, api_key=API_KEY)),
                                  options=WorkerOptions(threads=args.threads))
            started = time.perf_counter()
            delivered = 0
            while True:
                report = worker.run_once()
                delivered += report.delivered
                with engine.connect() as conn:
                    left = int(conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE status != 'done'").scalar()
                               or 0)
                if left == 0 or time.perf_counter() - started > 900:
                    break
                time.sleep(min(0.5, worker.seconds_until_next_run(report)))
            seconds = time.perf_counter() - started
            worker.close()
            engine.dispose()
        finally:
            stop_server(process)
        total, distinct = count_server_purchases(server_db)
        runs[name] = (seconds, delivered, left, total, distinct)
        print(f"outbox worker, {name} ({args.threads} threads): {delivered} delivered in {seconds:.2f} s "
              f"= {delivered / seconds:.0f} tx/s; left undelivered: {left}; on the server: {total} purchases, "
              f"{distinct} distinct receipts", flush=True)

    # 2. A plain requests.Session loop posting the same payloads to a fresh server.
    loop_db = work / "server-loop.sqlite"
    process, url = start_server(loop_db)
    try:
        session = requests.Session()
        session.auth = (API_KEY, "")
        target = f"{url}/integration/issue_point"
        started = time.perf_counter()
        for key, params in payloads:
            response = session.post(target, data=params, headers={"Idempotency-Key": key}, timeout=(5, 20))
            if response.status_code != 200:
                raise SystemExit(f"plain loop failed: {response.status_code} {response.text[:200]}")
        loop_seconds = time.perf_counter() - started
    finally:
        stop_server(process)
    loop_rate = len(payloads) / loop_seconds

    print(f"plain requests.Session loop:  {len(payloads)} posted in {loop_seconds:.2f} s = {loop_rate:.0f} tx/s")
    ok = True
    for name, (seconds, delivered, left, total, distinct) in runs.items():
        ok = ok and left == 0 and total == distinct == args.count
    base = runs["reference"][0]
    worker_rate = args.count / base
    ratio = loop_rate / worker_rate
    print(f"plain loop / worker (reference) = {ratio:.2f}x (target <= 1.5x); worker target >= 200 tx/s")
    print(f"strict / reference = {runs['strict'][0] / base:.2f}x")
    for mode in ("reference", "strict"):
        slowdown = runs[f"{mode} + 20% 429"][0] / runs[mode][0]
        print(f"{mode}: 20% 429 / no faults = {slowdown:.2f}x (target <= 3x)")
        ok = ok and slowdown <= 3
    ok = ok and worker_rate >= 200 and ratio <= 1.5
    print("PASS" if ok else "FAIL")
    print(f"cpu count: {os.cpu_count()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
