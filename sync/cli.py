"""Sync from the command line, and the demo server for `frontdesk --demo`.

- `sync_once_main(settings)`: what `frontdesk sync --once` runs: probe, drain the outbox (entries waiting out a
  backoff included), pull the programme and members, print a summary. Exit codes: 0 all delivered, 1 something
  still waits or needs a manager, 2 not configured, 3 API key refused, 4 server unreachable, 5 another process
  is writing the database.
- `python -m sync.cli drain --db PATH --api-url URL` (key in FRONTDESK_API_KEY): a bare drain process, used by the
  crash test and handy for IT scripts.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from sync.errors import ApiError, AuthError, summarise
from sync.status import format_age


def sync_once_main(settings: Any, *, out: Any = None) -> int:
    from sync.engine import build_engine

    out = out or sys.stdout
    engine = build_engine(settings)
    try:
        status = engine.status()
        if not engine.configured:
            reason = ("no loyalty API configured ([api] url)" if not settings.api_url else
                      f"no API key found (keyring entry “{settings.api_key_name}” or FRONTDESK_API_KEY)")
            print(f"Sync is off: {reason}. {status.queued} waiting, {status.parked} need attention.", file=out)
            return 2
        print(f"Server: {settings.api_url}", file=out)
        engine.probe()
        if engine.connectivity.auth_problem:
            print(f"The server refused the API key: {engine.connectivity.auth_problem}", file=out)
            return 3
        if engine.connectivity.state != "online":
            print(f"Cannot reach the server: {engine.connectivity.last_failure}. "
                  f"{status.queued} entries stay queued.", file=out)
            return 4
        assert engine.worker is not None and engine.puller is not None
        report = engine.worker.run_once(force=True)
        print(f"Outbox: {report.summary()}", file=out)
        if report.by_kind:
            print("  " + ", ".join(f"{kind}: {count}" for kind, count in sorted(report.by_kind.items())), file=out)
        if report.auth_error:
            return 3
        try:
            programme = engine.puller.pull_programme()
            if not programme.available:
                print("Programme: the server does not publish one (using the installed programme file)", file=out)
            else:
                print(f"Programme: {'updated to' if programme.changed else 'unchanged,'} version {programme.version}",
                      file=out)
            members = engine.puller.pull_members()
            print(f"Members: {members.created} new, {members.updated} updated ({members.pages} pages)", file=out)
            if members.stopped:
                print(f"  member feed: {members.stopped}; the next pass resumes from there", file=out)
            for line in members.skipped[:20]:
                print(f"  skipped (malformed on the server): {line}", file=out)
        except AuthError as error:
            print(f"Pull refused: {summarise(error)}", file=out)
            return 3
        except ApiError as error:
            print(f"Pull failed: {summarise(error)}", file=out)
        after = engine.status()
        line = f"Left: {after.queued} queued, {after.parked} need attention"
        age = after.oldest_age()
        if age is not None:
            line += f" (oldest {format_age(age)})"
        print(line, file=out)
        for entry in engine.entries(limit=20):
            if entry.status == "parked":
                print(f"  needs attention: #{entry.id} {entry.kind_label} {entry.receipt_no or ''} "
                      f"{entry.member_name}: {entry.last_error}", file=out)
            elif entry.status == "in_doubt":
                print(f"  in doubt (answer lost, resent next time): #{entry.id} {entry.kind_label} "
                      f"{entry.receipt_no or ''}", file=out)
        return 0 if after.queued == 0 and after.parked == 0 else 1
    finally:
        engine.close()


def main(argv: list[str] | None = None) -> int:
    import logging

    parser = argparse.ArgumentParser(prog="python -m sync.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    drain = sub.add_parser("drain", help="deliver the outbox of a counter database until it is empty")
    drain.add_argument("--db", required=True)
    drain.add_argument("--api-url", required=True)
    drain.add_argument("--threads", type=int, default=6)
    drain.add_argument("--retry-cap", type=float, default=2.0, help="longest backoff in seconds (default 2)")
    drain.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    import threading
    import time

    from frontdesk.store.db import make_engine
    from sync.client import ApiConfig, LoyaltyClient
    from sync.outbox import OutboxWorker, RetryPolicy, WorkerOptions
    from sync.status import read_queue_stats

    api_key = os.environ.get("FRONTDESK_API_KEY")
    if not api_key:
        print("set FRONTDESK_API_KEY", file=sys.stderr)
        return 2
    from frontdesk.store.writer import DatabaseBusy, WriterLock

    writer = WriterLock(args.db, "a sync drain process")
    try:
        writer.acquire()
    except DatabaseBusy as busy:
        print(busy, file=sys.stderr)
        return 5
    engine = make_engine(args.db)
    client = LoyaltyClient(ApiConfig(base_url=args.api_url, api_key=api_key))
    worker = OutboxWorker(engine, client, options=WorkerOptions(
        threads=args.threads, retry=RetryPolicy(base=0.05, cap=args.retry_cap),
        offline_backoff=RetryPolicy(base=0.05, cap=args.retry_cap)))
    print("ready", flush=True)
    deadline = time.monotonic() + args.max_seconds
    stop = threading.Event()
    while time.monotonic() < deadline:
        report = worker.run_once()
        stats = read_queue_stats(engine)
        if stats.queued == 0:
            print(f"drained; {stats.parked} parked", flush=True)
            return 0 if stats.parked == 0 else 1
        if report.auth_error:
            print(f"auth: {report.auth_error}", file=sys.stderr)
            return 3
        stop.wait(min(worker.seconds_until_next_run(report), 0.5))
    print("gave up: time limit", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
