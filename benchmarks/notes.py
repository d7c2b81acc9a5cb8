"""Reading procedure notes: notes per second on one core once the ontology is loaded (extract
only, then extract and code), over the note corpus repeated. Prints a table.

    python benchmarks/notes.py [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reasoner.intake.note import extract  # noqa: E402
from reasoner.knowledge.ontology import load  # noqa: E402
from reasoner.surfaces import api  # noqa: E402

TARGET_PER_S = 200


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each measure runs")
    args = parser.parse_args()
    paths = sorted((ROOT / "tests" / "notes").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in paths]
    ontology = load()
    start = time.perf_counter()
    lexicon = ontology.lexicon
    loaded = time.perf_counter() - start
    for text in texts:  # warm
        extract(text, lexicon)
    times: list[float] = []
    begin = time.perf_counter()
    while time.perf_counter() - begin < args.seconds:
        for text in texts:
            t = time.perf_counter()
            extract(text, lexicon)
            times.append(time.perf_counter() - t)
    rate = len(times) / sum(times)
    coded: list[float] = []
    begin = time.perf_counter()
    clean = [p for p in paths if not extract(p.read_text(encoding="utf-8"), lexicon).unresolved]
    while time.perf_counter() - begin < args.seconds:
        for path in clean:
            t = time.perf_counter()
            api.code_file(path, ontology)
            coded.append(time.perf_counter() - t)
    cpu = os.cpu_count()
    print(f"machine: {platform.machine()}, {cpu} cores, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f}; {len(paths)} notes, mean {statistics.mean(map(len, texts)):.0f} "
          "characters")
    rows = [("measure", "result", "target"),
            ("word lists built from the ontology (once)", f"{loaded * 1000:.0f} ms", ""),
            ("extract, notes per second (one core)", f"{rate:.0f}/s",
             f">= {TARGET_PER_S}/s: {'met' if rate >= TARGET_PER_S else 'NOT met'}"),
            ("extract, per note p50 / p95",
             f"{statistics.median(times) * 1000:.2f} / {statistics.quantiles(times, n=20)[18] * 1000:.2f} ms", ""),
            ("extract and code (fast path), notes per second", f"{len(coded) / sum(coded):.0f}/s", "")]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, width)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
