"""Check the note corpus in tests/notes: every expected session codes without input errors.

For each NAME.json: the id must be NAME and NAME.txt must exist (and every NAME.txt must have its
NAME.json); what is not part of Chemoden's session format is dropped (`expect`; an agent whose
note gives no dose, so no `units_administered`, is dropped whole), and the rest, per-injection
`units` and `sites` and agent `lot` and `vial_units` included, is coded with
`chemoden code --format json`. Exit 0 or 1 of chemoden is fine; exit 2 (an input error) is not.
The names listed in `expect.not_injected` must resolve too: they are coded as one more session
per note. Everything is coded in one chemoden call.

    .venv/bin/python tests/notes/validate.py [--chemoden PATH] [--codes]

--codes also prints each expected session's codes and conflicts, to read them over.

This is not part of the test suite (pytest does not collect it): run it after editing the notes.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STYLES = {"template-table": 8, "dictated-prose": 8, "bullet-list": 5, "migraine-preempt": 5,
          "spasticity-limbs": 8, "cervical-dystonia": 6, "laryngeal": 3, "hyperhidrosis": 3,
          "pediatric": 4, "typos-abbreviations": 6, "plans-histories": 6, "other": 4, "seed": 6}
REASONS = {"ambiguous-target", "side-missing", "dose-unattached", "unknown-target"}
INJECTION_DOSES = ("units", "sites")


def session_of(doc: dict) -> tuple[dict, list[str]]:
    """The expected session as Chemoden reads it, and remarks on what was dropped."""
    remarks = []
    session = {k: v for k, v in doc.items() if k != "expect"}
    if "agent" in doc:
        agent = doc["agent"]
        if "units_administered" in agent:
            session["agent"] = agent
        else:
            del session["agent"]
            remarks.append(f"agent {agent.get('product')!r} has no dose in the note: left out")
    return session, remarks


def check_expect(name: str, doc: dict) -> list[str]:
    problems = []
    expect = doc.get("expect")
    if not isinstance(expect, dict):
        return [f"{name}: no expect object"]
    if expect.get("style") not in STYLES:
        problems.append(f"{name}: expect.style {expect.get('style')!r} is not one of the styles")
    for key in ("not_injected", "unresolved", "notes"):
        if key not in expect:
            problems.append(f"{name}: expect.{key} missing")
    for item in expect.get("unresolved", []):
        if not (isinstance(item, dict) and item.get("text") and item.get("reason") in REASONS):
            problems.append(f"{name}: bad expect.unresolved item {item!r}")
    for n, inj in enumerate(doc.get("injections", [])):
        for key in INJECTION_DOSES:
            if key in inj and not (isinstance(inj[key], (int, float)) and inj[key] > 0):
                problems.append(f"{name}: injections[{n}].{key} must be a positive number")
        if inj.get("side") == "bilateral":
            problems.append(f"{name}: injections[{n}] is 'bilateral': write one injection per side")
    sides = collections.Counter((inj["muscle"], inj.get("side")) for inj in doc.get("injections", []))
    for (muscle, side), count in sides.items():
        if count > 1:
            problems.append(f"{name}: {side or ''} {muscle} is listed {count} times: one entry per muscle and side")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chemoden", default=str(ROOT / ".venv" / "bin" / "chemoden"))
    parser.add_argument("--codes", action="store_true", help="print each session's codes and conflicts")
    args = parser.parse_args()

    problems: list[str] = []
    texts = {p.stem for p in HERE.glob("*.txt")}
    docs = {p.stem: p for p in HERE.glob("*.json")}
    for stem in sorted(texts - set(docs)):
        problems.append(f"{stem}.txt has no {stem}.json")
    for stem in sorted(set(docs) - texts):
        problems.append(f"{stem}.json has no {stem}.txt")

    styles = collections.Counter()
    with_unresolved = 0
    with tempfile.TemporaryDirectory() as tmp:
        for stem, path in sorted(docs.items()):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                problems.append(f"{path.name}: not UTF-8 JSON: {err}")
                continue
            if doc.get("id") != stem:
                problems.append(f"{path.name}: id {doc.get('id')!r} is not the file name {stem!r}")
            problems += check_expect(stem, doc)
            styles[doc.get("expect", {}).get("style")] += 1
            with_unresolved += bool(doc.get("expect", {}).get("unresolved"))
            session, remarks = session_of(doc)
            for remark in remarks:
                print(f"note: {stem}: {remark}")
            Path(tmp, f"{stem}.json").write_text(json.dumps(session), encoding="utf-8")
            names = doc.get("expect", {}).get("not_injected", [])
            if names:
                probe = {"id": f"{stem}--not-injected",
                         "injections": [{"muscle": m, "side": "left"} for m in names]}
                Path(tmp, f"{stem}--not-injected.json").write_text(json.dumps(probe), encoding="utf-8")
            try:
                (HERE / f"{stem}.txt").read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                problems.append(f"{stem}.txt: not UTF-8: {err}")
        proc = subprocess.run([args.chemoden, "code", "--format", "json", tmp],
                              capture_output=True, text=True)
        coded = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        if proc.returncode not in (0, 1):
            problems.append(f"chemoden exited {proc.returncode}")
        for line in proc.stderr.splitlines():
            problems.append(line.replace(tmp + "/", ""))

    if args.codes:
        for result in coded:
            if result.get("session", "").endswith("--not-injected"):
                continue
            lines = ", ".join(f"{line['code']}{''.join('-' + m for m in line['modifiers'])} x{line['units']}"
                              for line in result.get("lines", []))
            conflicts = "; ".join(c["rule"] for c in result.get("conflicts", []))
            print(f"{result.get('session')}: {lines}" + (f"  [conflicts: {conflicts}]" if conflicts else ""))
    print(f"{len(docs)} notes, {len(coded)} sessions coded (notes and not-injected probes), "
          f"{with_unresolved} notes with unresolved text")
    for style, least in STYLES.items():
        mark = "" if styles[style] >= least else f"  (fewer than {least})"
        print(f"  {style:20} {styles[style]:3}{mark}")
        if styles[style] < least:
            problems.append(f"style {style}: {styles[style]} notes, fewer than {least}")
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
