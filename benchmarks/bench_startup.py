"""Cold start to a painted window, and to the first search answer, and resident memory, with a large member cache.

Each run is a fresh process (so imports, the migration check and the first query are all counted). It starts the
way `frontdesk` does (frontdesk.app.main.run_app): the window in its "opening" state, shown on the off-screen
platform and painted (`shown_s`); then the search is typed, while the member cache is still opening, and
`CounterOpening` takes the writer lock, checks the file, runs the migration check and builds the services on the
database worker; `first_search_s` is when the window shows the answer to that search. Reports wall time and peak
resident memory (Linux ru_maxrss), side by side with a bare PySide6 window (QApplication, a QMainWindow with a
label, shown and painted) measured the same way in interleaved runs, and the ratio.

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
from frontdesk.app.main import CounterOpening, resolve_settings
from frontdesk.app.wiring import build_window_shell
from frontdesk.store.writer import WriterLock
from frontdesk.ui.startup_notice import ask
app = QApplication([])
settings = resolve_settings(Namespace(db=sys.argv[1], config=None, demo=False))
window = build_window_shell(settings)
window.show()
app.processEvents()
shown = time.perf_counter() - t0
answered = {}
window.search_finished.connect(lambda r: (answered.setdefault("t", time.perf_counter() - t0), app.quit()))
window.search_box.setText("tan mei")
window._search_now()  # typed while the cache opens: searched when it is open
writer = WriterLock(settings.database_path, "the startup benchmark")
refused = []
CounterOpening(window, settings, ask, writer=writer, on_ready=lambda: None,
               on_refused=lambda code: (refused.append(code), app.quit())).start()
app.exec()
window.runner.shutdown()
writer.release()
if refused:
    sys.exit(f"the counter did not open (exit code {refused[0]})")
print(json.dumps({"shown_s": shown, "first_search_s": answered["t"],
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


BARE = r"""
import json, os, resource, sys, time
t0 = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication([])
window = QMainWindow()
window.setCentralWidget(QLabel("Front Desk"))
window.resize(1366, 768)
window.show()
app.processEvents()
shown = time.perf_counter() - t0
print(json.dumps({"shown_s": shown, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="benchmarks/out/members-1m.sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = []
    bare = []
    for _ in range(args.runs):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, args.db], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["process_s"] = time.perf_counter() - start
        runs.append(result)
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", BARE], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["process_s"] = time.perf_counter() - start
        bare.append(result)
    print(f"{'':<16} {'Front Desk median':>18} {'max':>8} {'bare PySide6 median':>20} {'ratio':>7}")
    for key in ("shown_s", "first_search_s", "process_s", "max_rss_mb"):
        values = [r[key] for r in runs]
        base = [r[key] for r in bare if key in r]
        line = f"{key:<16} {statistics.median(values):18.3f} {max(values):8.3f}"
        if base:
            line += f" {statistics.median(base):20.3f} {statistics.median(values) / statistics.median(base):6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
