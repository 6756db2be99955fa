"""Cold start to a usable window, and resident memory, with a large member cache.

Each run is a fresh process (so imports, the migration check and the first query are all counted): it builds the
main window on the off-screen platform, shows it, waits for the event loop to go idle, then answers one search
through the window's own background path. Reports wall time and peak resident memory (Linux ru_maxrss).

    python benchmarks/bench_startup.py --db benchmarks/out/members-1m.sqlite --runs 5
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from argparse import Namespace
from PySide6.QtWidgets import QApplication
from frontdesk.app.main import prepare_database, resolve_settings
from frontdesk.app.wiring import build_window
app = QApplication([])
settings = resolve_settings(Namespace(db=sys.argv[1], config=None, demo=False))
prepare_database(settings)
window = build_window(settings)
window.show()
app.processEvents()
shown = time.perf_counter() - t0
answered = {}
window.search_finished.connect(lambda r: (answered.setdefault("t", time.perf_counter() - t0), app.quit()))
window.search_box.setText("tan mei")
window._search_now()
app.exec()
window.runner.shutdown()
print(json.dumps({"shown_s": shown, "first_search_s": answered["t"],
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="benchmarks/out/members-1m.sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, args.db], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["process_s"] = time.perf_counter() - start
        runs.append(result)
    for key in ("shown_s", "first_search_s", "process_s", "max_rss_mb"):
        values = [r[key] for r in runs]
        print(f"{key:<16} median {statistics.median(values):8.3f}   max {max(values):8.3f}")


if __name__ == "__main__":
    main()
