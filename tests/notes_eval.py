"""Evaluate `chemoden extract` on the note corpus (tests/notes/): per field, precision, recall and
F1 of what was read against each note's expected session, and the share of notes whose coded
lines equal those of the expected session. `make eval-notes` prints the table; tests/test_notes.py
holds the floors.

    python tests/notes_eval.py [--show NAME] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTES = ROOT / "tests" / "notes"
sys.path.insert(0, str(ROOT))

FIELDS = ("targets", "sides", "doses", "sites", "guidance", "product", "units given", "units discarded", "unresolved")
FLOORS = {"injection_f1": 0.97, "side_accuracy": 0.98, "lines_equal": 0.95}


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, expected: Counter, got: Counter) -> None:
        self.tp += sum((expected & got).values())
        self.fp += sum((got - expected).values())
        self.fn += sum((expected - got).values())

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    tallies: dict = field(default_factory=lambda: {f: Tally() for f in FIELDS})
    notes: int = 0
    lines_equal: int = 0
    side_right: int = 0
    side_total: int = 0
    counted_excluded: list = field(default_factory=list)  # (note, muscle) named not injected but read as injected
    mismatches: dict = field(default_factory=dict)  # note -> what differs

    def summary(self) -> dict:
        out = {f: {"precision": round(t.precision, 4), "recall": round(t.recall, 4), "f1": round(t.f1, 4),
                   "tp": t.tp, "fp": t.fp, "fn": t.fn} for f, t in self.tallies.items()}
        return {"notes": self.notes, "fields": out, "injection_f1": round(self.tallies["targets"].f1, 4),
                "side_accuracy": round(self.side_right / self.side_total, 4) if self.side_total else 1.0,
                "lines_equal": round(self.lines_equal / self.notes, 4) if self.notes else 1.0,
                "counted_excluded": self.counted_excluded}


def corpus(folder: Path = NOTES) -> list[Path]:
    return sorted(Path(folder).glob("*.txt"))


def _iri(names, name):
    found = names.resolve_target(name)
    return str(found.target.iri) if found and found.target else name


def _sided(names, injections):
    out = []
    for inj in injections:
        iri = _iri(names, inj["muscle"])
        side = inj.get("side")
        sides = ["left", "right"] if side == "bilateral" else [side]
        for s in sides:
            out.append((iri, s, inj.get("units"), inj.get("sites")))
    return out


def _lines(result) -> list:
    return sorted((line.code, line.units, tuple(sorted(line.modifiers))) for line in result.lines)


def evaluate(paths=None, show: str | None = None) -> Report:
    from reasoner.intake.note import extract
    from reasoner.knowledge.ontology import load
    from reasoner.surfaces import api

    ontology = load()
    names, lexicon = ontology.names, ontology.lexicon
    report = Report()
    for path in paths or corpus():
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        expect = expected.pop("expect", {})
        got = extract(path.read_text(encoding="utf-8"), lexicon, source=str(path)).as_json()
        report.notes += 1
        t = report.tallies
        exp_inj, got_inj = _sided(names, expected.get("injections", [])), _sided(names, got.get("injections", []))
        t["targets"].add(Counter((i, s) for i, s, _, _ in exp_inj), Counter((i, s) for i, s, _, _ in got_inj))
        t["doses"].add(Counter((i, s, float(u)) for i, s, u, _ in exp_inj if u is not None),
                       Counter((i, s, float(u)) for i, s, u, _ in got_inj if u is not None))
        t["sites"].add(Counter((i, s, n) for i, s, _, n in exp_inj if n is not None),
                       Counter((i, s, n) for i, s, _, n in got_inj if n is not None))
        # sides: of the targets read that were expected (by target), is the side right
        exp_by_target = Counter((i, s) for i, s, _, _ in exp_inj)
        got_targets = Counter(i for i, _, _, _ in got_inj)
        for (iri, side), n in exp_by_target.items():
            matched = min(n, got_targets.get(iri, 0))
            if matched:
                report.side_total += matched
                report.side_right += min(matched, sum(1 for i, s, _, _ in got_inj if i == iri and s == side))
        t["sides"].add(Counter(s for _, s, _, _ in exp_inj), Counter(s for _, s, _, _ in got_inj))
        t["guidance"].add(Counter(expected.get("guidance", [])), Counter(got.get("guidance", [])))
        ea, ga = expected.get("agent") or {}, got.get("agent") or {}
        product = lambda a: str(names.enum("product", a["product"])) if a.get("product") else None  # noqa: E731
        t["product"].add(Counter([product(ea)] if ea else []), Counter([product(ga)] if ga else []))
        for key, fname in (("units_administered", "units given"), ("units_discarded", "units discarded")):
            t[fname].add(Counter([float(ea[key])] if key in ea else []), Counter([float(ga[key])] if key in ga else []))
        t["unresolved"].add(Counter(u["reason"].split(":")[0] for u in expect.get("unresolved", [])),
                            Counter(u["reason"].split(":")[0] for u in got.get("unresolved", [])))
        for name in expect.get("not_injected", []):
            iri = _iri(names, name)
            exp_sides = {s for i, s, _, _ in exp_inj if i == iri}
            if any(i == iri and s not in exp_sides for i, s, _, _ in got_inj):
                report.counted_excluded.append((path.stem, name))
        equal = _codes_equal(api, expected, got)
        report.lines_equal += equal
        if not equal or show == path.stem or (exp_inj and sorted(map(str, exp_inj)) != sorted(map(str, got_inj))):
            report.mismatches[path.stem] = {"lines_equal": equal,
                                            "missing": sorted(set(map(str, exp_inj)) - set(map(str, got_inj))),
                                            "extra": sorted(set(map(str, got_inj)) - set(map(str, exp_inj)))}
        if show == path.stem:
            print(json.dumps(got, indent=1))
    return report


def _session_for_coding(doc: dict) -> dict:
    doc = {k: v for k, v in doc.items() if k not in ("expect", "unresolved", "provenance")}
    doc["injections"] = [{k: v for k, v in i.items() if k in ("id", "muscle", "side")} for i in doc.get("injections", [])]
    for n, i in enumerate(doc["injections"], 1):
        i.setdefault("id", f"i{n}")
    if "agent" in doc and "units_administered" not in doc["agent"]:
        del doc["agent"]  # a drug named without its dose is not a drug line
    if "agent" in doc:
        doc["agent"] = {k: v for k, v in doc["agent"].items() if k in ("product", "ndc", "units_administered",
                                                                       "units_discarded")}
    doc.pop("diagnoses", None)  # coverage notes aside: the lines are compared
    return doc


def _codes_equal(api, expected: dict, got: dict) -> bool:
    if got.get("unresolved") and not expected.get("expect", {}).get("unresolved"):
        pass
    try:
        a = api.code_json(_session_for_coding(expected))
    except Exception as exc:  # the expected session must code
        raise SystemExit(f"expected session {expected.get('id')} does not code: {exc}") from exc
    try:
        b = api.code_json(_session_for_coding(got))
    except Exception:
        return False
    return _lines(a) == _lines(b)


def table(summary: dict) -> str:
    rows = [f"{'field':<16} {'precision':>9} {'recall':>7} {'F1':>6} {'tp':>5} {'fp':>4} {'fn':>4}"]
    for name, f in summary["fields"].items():
        rows.append(f"{name:<16} {f['precision']:>9.3f} {f['recall']:>7.3f} {f['f1']:>6.3f} {f['tp']:>5} {f['fp']:>4} "
                    f"{f['fn']:>4}")
    rows.append("")
    rows.append(f"notes: {summary['notes']}")
    rows.append(f"injection F1: {summary['injection_f1']:.3f} (floor {FLOORS['injection_f1']})")
    rows.append(f"side accuracy: {summary['side_accuracy']:.3f} (floor {FLOORS['side_accuracy']})")
    rows.append(f"coded lines equal: {summary['lines_equal']:.1%} of notes (floor {FLOORS['lines_equal']:.0%})")
    rows.append(f"negated or planned muscles counted: {len(summary['counted_excluded'])} (floor 0)"
                + (f" {summary['counted_excluded']}" if summary["counted_excluded"] else ""))
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", help="print what one note (its name without .txt) extracts to")
    parser.add_argument("--json", action="store_true", help="the summary as JSON")
    parser.add_argument("--mismatches", action="store_true", help="list the notes read differently from expected")
    parser.add_argument("--corpus", default=str(NOTES), help="the folder of notes (default tests/notes; "
                        "tests/notes-heldout holds notes never used to tune the reader)")
    args = parser.parse_args()
    report = evaluate(corpus(Path(args.corpus)), show=args.show)
    summary = report.summary()
    print(json.dumps(summary, indent=1) if args.json else table(summary))
    if args.mismatches:
        for name, diff in sorted(report.mismatches.items()):
            print(f"- {name}: lines equal {diff['lines_equal']}; missing {diff['missing']}; extra {diff['extra']}")
    ok = (summary["injection_f1"] >= FLOORS["injection_f1"] and summary["side_accuracy"] >= FLOORS["side_accuracy"]
          and summary["lines_equal"] >= FLOORS["lines_equal"] and not summary["counted_excluded"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
