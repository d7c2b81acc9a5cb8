"""Fuzzing: generated and mutated inputs through parsing, validation and coding.

    python tests/fuzzing.py --count 10000        # what `make fuzz` runs (and 1,000 notes, --notes)
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

Procedure notes (`--notes N`, run after the sessions): each is a note of tests/notes mutated as
text (lines deleted, duplicated, swapped or shuffled; Unicode, control characters, a very long
line, a number of hundreds of digits inserted; truncated; bytes changed or decoded from random
bytes; line endings and case changed) or one of the worst notes outright (empty, blank, a table
header alone). Each goes through what `chemoden extract` does (decode, read, the JSON, the
table and the Turtle) and what `chemoden code` does (read_bytes with fmt="text", then code).
extract must end in an extraction or an InputError (bytes that are not UTF-8; for the Turtle, a
session the note does not give); its JSON must be strict JSON (no NaN, no Infinity), every span
must lie inside the note (0 <= start < end <= length) and every unresolved item's line and
column must be its start's; every other note's JSON is mutated as a session is (provenance,
spans and unresolved items dropped, retyped, negative, nested...) and read back as input, to a
session or input errors of the checked shape. code must end in a result or an InputError of the same shape as
above, each of whose errors names a place in the note (inside it: the field "line L, column C" of
an unresolved item, or a refused value's message ending "(line L, column C of the note)") or is
about the whole note (no field: empty, not UTF-8, too large; `injections`: none read, too many).
Anything else is a crash, reported with the note that caused it.
Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
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
from reasoner.core.errors import ChemodenError, InputError  # noqa: E402
from reasoner.intake import note as note_reader  # noqa: E402
from reasoner.intake.read import read_bytes, to_session  # noqa: E402

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
    return _with_crashes(report, crashes, stream)


def _with_crashes(report: dict, crashes: list, stream) -> dict:
    """The run's report with its crashes: the first ten printed, all kept under crash_list."""
    for label, data, what in crashes[:10]:
        print(f"CRASH {label}: {data[:200]!r}\n{what}", file=stream)
    report["crash_list"] = crashes
    return report


# ---------------------------------------------------------------------------
# Procedure notes
# ---------------------------------------------------------------------------

NOTES = sorted((ROOT / "tests" / "notes").glob("*.txt"))
# What a mutation inserts: letters of other scripts, marks that change a word's length when its
# case changes (İ, ß), digits of other scripts, invisible and joining characters, control
# characters and the other line breaks, a side or a dose on its own
NOTE_INSERTS = ["左", "🦴", "é", "e\u0301", "İ", "ß", "ﬁ", "Σ", "٣", "５", "\u200b", "\u200d", "\u00a0", "\u202e", "\ufeff",
                "\x00", "\x07", "\x0b", "\x0c", "\r", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\t", "|", ",", ":",
                "-", "•", "x", "×", "/", "(", ")", "[", "\\", "Left ", "R ", "bilateral ", " 50 U", " 0 U", " -20 U",
                " 0.001 U", " 4 sites", " x 4", " U/kg", " 30 kg", "Total 100 U", "NDC 0023-3921-02", "lot ", "G24.3",
                "DOS: 02/30/2026", "DOS: 01/01/2999", "no ", "Plan: ", "History: ", "Procedure: "]
# Notes that are no note, or all header
WORST_NOTES = ["", " ", "\n\n\n", "\t\r\n", "\ufeff", "Muscle | Side | Units", "Muscle | Side | Units\n---|---|---\n",
               "Muscle\tSide\tUnits\tSites\n", "MUSCLE,SIDE,UNITS\n", "Muscle          Side     Units\n",
               "Muscle | Side | Units\nTotal | | 100\n", "Procedure:", "PROCEDURE NOTE\n\nPlan:\n", "Left", "50 U",
               "Botox 100 U vial.", "|||||\n|||", "\x00" * 10]


def mutate_note(rng: random.Random, text: str) -> bytes:
    """A note changed one to three times as text, then at times as bytes."""
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        lines = text.split("\n")
        move = rng.randrange(13)
        if move == 0 and lines:  # delete lines
            start = rng.randrange(len(lines))
            del lines[start:start + rng.choice([1, 1, 2, 5])]
        elif move == 1 and lines:  # duplicate a line
            n = rng.randrange(len(lines))
            lines.insert(n, lines[n])
        elif move == 2 and len(lines) > 1:  # swap two lines
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
        elif move == 3 and len(lines) > 1:  # shuffle a block
            start = rng.randrange(len(lines))
            block = lines[start:start + rng.randrange(2, 8)]
            rng.shuffle(block)
            lines[start:start + len(block)] = block
        elif move == 4:  # characters inserted
            for _ in range(rng.randrange(1, 6)):
                pos = rng.randrange(len(text) + 1)
                text = text[:pos] + rng.choice(NOTE_INSERTS) + text[pos:]
            continue
        elif move == 5:  # a very long line: a word, a dose list or one unbroken run
            piece = rng.choice(["trapezius ", "Left biceps 10 U, ", "x" * 50, "| L | 40 | 2 ", "1", " ", "-", "Right SCM. "])
            n = rng.randrange(len(lines) + 1)
            lines.insert(n, piece * rng.choice([50, 300, 5_000 // len(piece) + 1]))
        elif move == 6:  # a number of many digits in place of one
            digits = [m for m in range(len(text)) if text[m].isdigit()]
            if digits:
                pos = rng.choice(digits)
                text = text[:pos] + "9" * rng.choice([20, 309, 400, 5000]) + text[pos + 1:]
            continue
        elif move == 7:  # truncated
            text = text[:rng.randrange(len(text) + 1)]
            continue
        elif move == 8:  # Windows line endings, tabs, a byte order mark, no line breaks at all
            text = rng.choice([text.replace("\n", "\r\n"), text.replace("  ", "\t"), "\ufeff" + text,
                               text.replace("\n", " "), text.replace("\n", "\r")])
            continue
        elif move == 9:  # case
            text = rng.choice([text.upper(), text.lower(), text.swapcase()])
            continue
        elif move == 10:  # random bytes, decoded, inserted
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            pos = rng.randrange(len(text) + 1)
            text = text[:pos] + junk.decode(rng.choice(["latin-1", "utf-8", "utf-16-le"]), "replace") + text[pos:]
            continue
        elif move == 11:  # the note several times over
            text = "\n".join([text] * rng.choice([2, 3, 10]))
            continue
        elif move == 12 and lines:  # a table header in place of a line
            lines[rng.randrange(len(lines))] = rng.choice(WORST_NOTES[5:11]).rstrip("\n")
        text = "\n".join(lines)
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.1:
        data = mutate_bytes(rng, data)  # invalid UTF-8, a byte order mark, bytes cut
    return data


def note_inputs(count: int, seed: int):
    """(label, bytes) notes, deterministic for the seed: mutated corpus notes, and the worst notes."""
    rng = random.Random(seed)
    corpus = [(p.stem, p.read_text(encoding="utf-8")) for p in NOTES]
    for n in range(count):
        if rng.random() < 0.1:
            k = rng.randrange(len(WORST_NOTES))
            yield f"worst-note-{k}", WORST_NOTES[k].encode("utf-8")
        else:
            name, text = rng.choice(corpus)
            yield f"note-mutation-{n}-{name}", mutate_note(rng, text)


def extract_problem(data: bytes, ontology, label: str, rng: random.Random | None = None) -> str | None:
    """What `chemoden extract` does with a note (decode, read, JSON, table, Turtle), and what is
    wrong with the outcome, or None. Raises what it does not expect. With rng, the JSON is then
    mutated as a session is (its provenance and unresolved items too) and read back as input."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None  # the command's InputError: not UTF-8 text
    got = note_reader.extract(text, ontology.lexicon, source=label)
    if rng is not None:
        try:
            mutated = json.dumps(mutate_json(rng, got.as_json()), allow_nan=True).encode("utf-8", "surrogatepass")
        except (ValueError, RecursionError):
            mutated = None  # nested too deep for json.dumps: no input to give
        try:
            if mutated is not None:
                read_bytes(mutated, ontology, source=f"{label}.json", fmt="json")
        except ChemodenError as exc:
            if malformed(exc):
                return f"extract's JSON, mutated, read back: {malformed(exc)}"
    try:
        json.dumps(got.as_json(), ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        return f"extract's JSON is not JSON: {exc}"
    note_reader.table(got)
    for field, spans in got.spans.items():
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                return f"span {field} {[start, end]} outside the note of {len(text)} characters"
    for item in got.unresolved:
        if (item.line, item.column) != note_reader.position(text, item.start):
            return f"unresolved {item.text!r} at line {item.line}, column {item.column}, not at its start"
    try:
        to_session(got, ontology).graph.serialize(format="turtle")
    except InputError as exc:
        return malformed(exc)
    return None


_PLACE = re.compile(r"line (\d+), column (\d+)")  # an unresolved item's field
_PLACED = re.compile(r".* \(line (\d+), column (\d+) of the note\)", re.S)  # a value the session refuses


def note_error_problem(exc: ChemodenError, data: bytes) -> str | None:
    """What is wrong with the input error a note ended in, or None: the shape of every input
    error, and each of its errors names a place in the note or is about the whole note."""
    problem = malformed(exc)
    if problem or not isinstance(exc, InputError):
        return problem or f"not an input error: {type(exc).__name__}"
    text = data.decode("utf-8-sig", "replace")
    lines = text.split("\n")
    for error in exc.errors:
        place = _PLACE.fullmatch(error.field or "") or _PLACED.fullmatch(error.message)
        if place:
            line, column = int(place.group(1)), int(place.group(2))
            if not (1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1]) + 1):
                return f"{error.field} is not in the note ({len(lines)} lines): {error.message}"
        elif error.field not in (None, "injections"):
            return f"names {error.field!r}, not a place in the note: {error.message}"
    return None


def run_notes(count: int, seed: int, stream=sys.stdout, code_every: int = 1, ontology=None) -> dict:
    """Mutated procedure notes through extract and code (code() itself on every code_every-th
    note that reads into a session: coding is the costly part)."""
    import logging

    logging.getLogger("rdflib").setLevel(logging.ERROR)
    ontology = ontology or load_ontology()
    outcomes: Counter = Counter()
    crashes: list[tuple[str, bytes, str]] = []
    slowest = (0.0, "")
    start = time.monotonic()
    rng = random.Random(seed)  # every other note's extract JSON mutated and read back
    for n, (label, data) in enumerate(note_inputs(count, seed)):
        t = time.monotonic()
        try:
            problem = extract_problem(data, ontology, label, rng if n % 2 == 0 else None)
        except Exception:
            problem = "extract: " + traceback.format_exc(limit=-3)
        if problem:
            crashes.append((label, data, problem))
            continue
        try:
            sessions = read_bytes(data, ontology, source=label, fmt="text")
            if n % code_every == 0:
                for session in sessions:
                    code(session, ontology)
                outcomes["coded"] += 1
            else:
                outcomes["read"] += 1
        except ChemodenError as exc:
            problem = note_error_problem(exc, data)
            if problem:
                crashes.append((label, data, problem))
                continue
            outcomes["input error"] += 1
        except Exception:
            crashes.append((label, data, "code: " + traceback.format_exc(limit=-3)))
            continue
        took = time.monotonic() - t
        if took > slowest[0]:
            slowest = (took, label)
    seconds = time.monotonic() - start
    report = {"inputs": sum(outcomes.values()) + len(crashes), "coded": outcomes["coded"], "read": outcomes["read"],
              "input_errors": outcomes["input error"], "crashes": len(crashes), "seconds": round(seconds, 1),
              "slowest_s": round(slowest[0], 3), "slowest": slowest[1]}
    print(f"fuzz notes: {report['inputs']} notes in {report['seconds']} s: {report['coded']} coded, {report['read']} "
          f"read (not coded), {report['input_errors']} input errors, {report['crashes']} crashes; slowest "
          f"{report['slowest_s']} s ({report['slowest']})", file=stream)
    return _with_crashes(report, crashes, stream)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Chemoden fuzzing: generated and mutated inputs")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--notes", type=int, default=1000, help="mutated procedure notes after the sessions")
    args = parser.parse_args(argv)
    report = run(args.count, args.seed)
    notes = run_notes(args.notes, args.seed) if args.notes else {"crashes": 0}
    return 1 if report["crashes"] or notes["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
