"""Fuzzing: generated and mutated inputs through parsing, validation and coding.

    python tests/fuzzing.py --count 10000        # what `make fuzz` runs
    python tests/fuzzing.py --count 300 --seed 3 # a short run (tests/test_fuzz.py does this)

Each input is a realistic session (benchmarks/generate.py) or one of the examples, often given
a patient, a date of service, diagnoses and claim lines with diagnosis pointers (valid or not:
codes with and without the dot, categories, unknown codes, impossible and future dates), and
injections' units and sites, the agent's lot and vials (valid or not: zero, negative, over the
bounds, text, fractional sites, lots with spaces, too many vials), then
mutated at one of three levels: the JSON value (fields dropped, retyped, emptied, swapped,
huge or negative numbers, junk strings, deep nesting), the text (truncated, bytes flipped,
invalid UTF-8, characters inserted), or the Turtle of a session. Every input must end in a
coded result or an InputError naming what is wrong; anything else (another exception, an
InputError without a message) is a crash and is reported with the input that caused it. An
error reporting several (InputErrors) must read as its first, and name a field at most once.
Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from generate import generate  # noqa: E402

from reasoner import code, load_ontology  # noqa: E402
from reasoner.core.errors import ChemodenError  # noqa: E402
from reasoner.intake.read import read_bytes  # noqa: E402

JUNK = ["", " ", "null", "-1", "1e309", "NaN", "\u0000", "\ud7ff", "左", "🦴", "x" * 5000, "{", "@context",
        "http://example.org/", "file:///etc/passwd", "<script>", "left left", "bilateral right", "0023-3921-02",
        "J0585", "64642", "50", "RT"]
VALUES = [None, True, False, 0, -1, 1.5, -0.0, 10**30, float("inf"), [], {}, [[]], {"@id": "x"}, "", "  ",
          {"@context": "http://example.org/context.jsonld"}, {"@context": {"@import": "file:///etc/hosts"}}]
# The session's patient, date and diagnoses, and the claim lines' pointers: good and bad values
DIAGNOSES = ["G24.3", "g243", "G43.709", "g43709", "M54.2", "R25.2", "I10", "S72.001A", "G43.7", "G43", "G24.39",
             "Q99.99", "migraine", "G24..3", "G2 4.3", "", "A00-A09", "6", 243, None]
DATES = ["2026-03-04", "2024-02-29", "2023-02-29", "2026-02-30", "2026-13-01", "2999-01-01", "1999-12-31",
         "03/04/2026", "2026-3-4", "20260304", "", 20260304, None]
PATIENTS = ["P123", "MRN-0047113", 12345, "", " ", "x" * 129, "a\nb", True, 1.5, ["P1"], None]
POINTERS = [[1], [1, 2], [2, 1], [1, 2, 3, 4], [1, 2, 3, 4, 5], [12], [0], [13], [-1], ["A"], [1.0], [True], 1, [],
            [1, 1], None]
# An injection's units and sites, the agent's lot and vials: good and bad values
UNITS = [30, 2.5, 15, 100_000, 0, -5, 100_000.5, 1e309, "30", "30 U", True, [30], None]
SITES = [1, 4, 100, 0, 101, 2.5, 2.0, "2", -1, True, None]
LOTS = ["C8810C3", "C-8810-3", "x" * 40, "x" * 41, "", "C 8810", "lót", "C8810\n", 881003, True, ["A"], None]
VIALS = [[100], 100, [100, 50], [100, 100], [2.5], [], [100] * 20, [100] * 21, [100, 0], -100, [100, 200_000],
         [100, "100"], "100", [100, None], [True], None]
NEW_KEYS = ["patient", "date", "diagnoses", "diagnosis_pointers", "sites", "lot", "vial_units"]
# A Turtle session with every new field, for Turtle mutations beside the example's
TURTLE_FIELDS = b"""@prefix cd: <https://w3id.org/chemoden#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/chemoden/session/fields> a cd:Session ; cd:patientId "P123" ;
    cd:dateOfService "2026-03-04"^^xsd:date ; cd:diagnosisCode ( "G24.3" "m542" ) ;
    cd:hasInjection [ cd:muscleName "left SCM" ; cd:doseUnits 30 ; cd:siteCount 2 ] ,
                    [ cd:muscleName "trapezius" ; cd:sideName "right" ; cd:doseUnits 20.5 ] ;
    cd:agent [ cd:productName "Botox" ; cd:unitsAdministered 50.5 ; cd:lotNumber "C8810C3" ; cd:vialUnits 100, 50 ] ;
    cd:billed [ cd:billedCodeText "64616" ; cd:billedModifierText "50" ; cd:diagnosisPointer 1, 2 ; cd:position 0 ] .
"""


def with_fields(rng: random.Random, doc: dict) -> dict:
    """The session with a patient, a date of service, diagnoses and claim pointers, each at
    random (mostly valid; at times a bad value, a long list, a duplicate)."""
    doc = copy.deepcopy(doc)
    if rng.random() < 0.6:
        doc["patient"] = rng.choice(PATIENTS[:2] * 4 + PATIENTS)
    if rng.random() < 0.6:
        doc["date"] = rng.choice(DATES[:2] * 4 + DATES)
    if rng.random() < 0.7:
        good = DIAGNOSES[:8]
        codes = rng.sample(good, rng.randrange(1, 5))
        if rng.random() < 0.3:
            codes.insert(rng.randrange(len(codes) + 1), rng.choice(DIAGNOSES))
        if rng.random() < 0.05:
            codes = [f"G24.{n}" for n in (1, 2, 3, 4, 5, 8, 9)] + [f"G25.{n}" for n in (0, 1, 2, 3, 9)] + ["I10"]
        doc["diagnoses"] = codes if rng.random() < 0.95 else rng.choice(DIAGNOSES + VALUES)
    billed = doc.get("billed")
    if not isinstance(billed, list) and rng.random() < 0.5:
        billed = doc["billed"] = [{"code": "64616"}, {"code": "95874"}]
    for line in billed if isinstance(billed, list) else []:
        if isinstance(line, dict) and rng.random() < 0.7:
            line["diagnosis_pointers"] = rng.choice(POINTERS[:4] * 3 + POINTERS)
    return with_doses(rng, doc)


def with_doses(rng: random.Random, doc: dict) -> dict:
    """Units and sites on the injections, lot and vials on the agent, each at random (mostly
    valid; at times a bad value); now and then the units add up to the amount administered
    (no dose-sum note) or every injection but one gives them."""
    injections = [inj for inj in doc.get("injections") or [] if isinstance(inj, dict)]
    if injections and rng.random() < 0.6:
        for inj in injections:
            if rng.random() < 0.9:
                inj["units"] = rng.choice(UNITS[:3] * 6 + UNITS)
            if rng.random() < 0.5:
                inj["sites"] = rng.choice(SITES[:3] * 6 + SITES)
        agent = doc.get("agent")
        given = [inj["units"] for inj in injections if isinstance(inj.get("units"), (int, float))]
        if isinstance(agent, dict) and given and rng.random() < 0.5:
            agent["units_administered"] = sum(given)
    agent = doc.get("agent")
    if isinstance(agent, dict):
        if rng.random() < 0.5:
            agent["lot"] = rng.choice(LOTS[:2] * 4 + LOTS)
        if rng.random() < 0.5:
            agent["vial_units"] = rng.choice(VIALS[:4] * 3 + VIALS)
    return doc


def _paths(value, path=()):
    """Every path to a node of a JSON value."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _paths(item, path + (n,))


def _get(value, path):
    for step in path:
        value = value[step]
    return value


def _set(doc, path, new):
    if not path:
        return new
    parent = _get(doc, path[:-1])
    parent[path[-1]] = new
    return doc


def mutate_json(rng: random.Random, doc):
    doc = copy.deepcopy(doc)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = list(_paths(doc))
        path = rng.choice(paths)
        target = _get(doc, path)
        move = rng.randrange(9)
        if move == 0 and path:  # drop a field or an element
            parent = _get(doc, path[:-1])
            del parent[path[-1]]
        elif move == 1:
            doc = _set(doc, path, rng.choice(VALUES))
        elif move == 2:
            doc = _set(doc, path, rng.choice(JUNK))
        elif move == 3 and isinstance(target, (int, float)) and not isinstance(target, bool):
            doc = _set(doc, path, rng.choice([-target, target * 10**6, target + 0.5, 0, str(target)]))
        elif move == 4 and isinstance(target, str):
            cut = rng.randrange(len(target) + 1)
            doc = _set(doc, path, rng.choice([target[:cut], target.upper(), target + " " + target,
                                              target[::-1], target.replace("e", "é")]))
        elif move == 5 and isinstance(target, list) and target:
            target.append(copy.deepcopy(rng.choice(target)))  # a duplicate (same injection id, same line)
        elif move == 6 and isinstance(target, dict):
            target[rng.choice(["side", "muscle", "id", "units", "extra", "@type", "@id"] + NEW_KEYS)] = rng.choice(
                JUNK + VALUES + DIAGNOSES + DATES + POINTERS + UNITS + SITES + LOTS + VIALS)
        elif move == 7:
            nested = rng.choice(VALUES + JUNK)
            for _ in range(rng.randrange(1, 60)):
                nested = [nested] if rng.random() < 0.5 else {"a": nested}
            doc = _set(doc, path, nested)
        elif move == 8 and isinstance(target, list):
            rng.shuffle(target)
    return doc


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    move = rng.randrange(5)
    if move == 0 and data:
        return bytes(data[: rng.randrange(len(data))])
    if move == 1 and data:
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif move == 2:
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.choice([b"\xff\xfe", b"\xc3", b"\x00", "é".encode(), b"}", b"]", b'"', b",", b"\\"])
    elif move == 3:
        return b"\xef\xbb\xbf" + bytes(data)
    elif move == 4 and data:
        start = rng.randrange(len(data))
        del data[start:start + rng.randrange(1, 40)]
    return bytes(data)


def inputs(count: int, seed: int, ontology):
    """(label, bytes, format) inputs, deterministic for the seed."""
    rng = random.Random(seed)
    sessions = list(generate(max(50, count // 20), seed=seed, ontology=ontology))
    examples = [(p.read_bytes(), "turtle" if p.suffix == ".ttl" else "json") for p in sorted((ROOT / "examples").rglob("*")) if p.suffix in (".json", ".ttl")]
    for n in range(count):
        kind = rng.randrange(10)
        if kind < 5:
            doc = rng.choice(sessions)
            doc = mutate_json(rng, with_fields(rng, doc) if rng.random() < 0.5 else doc)
            try:
                text = json.dumps(doc, ensure_ascii=rng.random() < 0.5, allow_nan=True)
            except (ValueError, RecursionError):
                continue
            yield f"json-mutation-{n}", text.encode("utf-8", "surrogatepass"), "json"
        elif kind < 8:
            data, fmt = rng.choice(examples) if rng.random() < 0.3 else (json.dumps(rng.choice(sessions)).encode(), "json")
            yield f"byte-mutation-{n}", mutate_bytes(rng, data), fmt
        elif kind < 9:
            data = [e for e in examples if e[1] == "turtle"][0][0] if rng.random() < 0.6 else TURTLE_FIELDS
            yield f"turtle-mutation-{n}", mutate_bytes(rng, data), "turtle"
        else:
            doc = rng.choice(sessions)
            yield f"generated-{n}", json.dumps(with_fields(rng, doc) if rng.random() < 0.5 else doc).encode(), "json"


def malformed(exc: ChemodenError) -> str | None:
    """What is wrong with an error's shape, or None: each error has a message, the first of
    `errors` is the error itself (what a caller showing one error shows), no field twice."""
    errors = exc.errors
    if not errors or any(not e.message for e in errors):
        return "an input error without a message"
    if (errors[0].source, errors[0].field, errors[0].message) != (exc.source, exc.field, exc.message):
        return "the error does not read as the first of its errors"
    named = [(e.source, e.field) for e in errors if e.field]
    if len(named) != len(set(named)):
        return f"a field named twice: {[e.field for e in errors]}"
    return None


def run(count: int, seed: int, stream=sys.stdout) -> dict:
    import logging

    # as the command line does: rdflib's warnings about odd IRIs in mutated Turtle are not crashes
    logging.getLogger("rdflib").setLevel(logging.ERROR)
    ontology = load_ontology()
    outcomes: Counter = Counter()
    crashes: list[tuple[str, bytes, str]] = []
    slowest = (0.0, "")
    several = 0  # input errors reporting more than one error
    start = time.monotonic()
    for label, data, fmt in inputs(count, seed, ontology):
        t = time.monotonic()
        try:
            sessions = read_bytes(data, ontology, source=label, fmt=fmt)
            for session in sessions:
                code(session, ontology)
            outcomes["coded"] += 1
        except ChemodenError as exc:
            problem = malformed(exc)
            if problem:
                crashes.append((label, data, problem))
            outcomes["input error"] += 1
            several += len(exc.errors) > 1
        except Exception:  # anything else is a crash
            crashes.append((label, data, traceback.format_exc(limit=3)))
        took = time.monotonic() - t
        if took > slowest[0]:
            slowest = (took, label)
    seconds = time.monotonic() - start
    report = {"inputs": sum(outcomes.values()) + len(crashes),
              "coded": outcomes["coded"], "input_errors": outcomes["input error"], "several_errors": several,
              "crashes": len(crashes),
              "seconds": round(seconds, 1), "slowest_s": round(slowest[0], 3), "slowest": slowest[1]}
    print(f"fuzz: {report['inputs']} inputs in {report['seconds']} s: {report['coded']} coded, "
          f"{report['input_errors']} input errors ({several} with several), {report['crashes']} crashes; slowest {report['slowest_s']} s "
          f"({report['slowest']})", file=stream)
    for label, data, what in crashes[:10]:
        print(f"CRASH {label}: {data[:200]!r}\n{what}", file=stream)
    report["crash_list"] = crashes
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Chemoden fuzzing: generated and mutated inputs")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = run(args.count, args.seed)
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
