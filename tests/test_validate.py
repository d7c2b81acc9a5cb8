"""Session input shapes (ontology/shapes/session.ttl): what they catch, named as the user wrote it,
and the compiled checks of reasoner/knowledge/shapes.py agree with pySHACL on every case.

Each case is an input as a user would write it (plain JSON, JSON-LD or Turtle), the field the
message must name, and a fragment of the message. Inputs that resolution (intake/resolve.py) lets
through are also coded through the public API, which must refuse them; inputs resolution
already refuses are checked at the graph level (the shapes state them too, for any SHACL tool).
"""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from rdflib import Graph
from rdflib.namespace import RDF

from reasoner import InputError, OntologyError, code_text
from reasoner.core.vocab import CD, SESSION_BASE
from reasoner.intake.plain import plain_graph, with_positions
from reasoner.intake.read import read_bytes
from reasoner.knowledge import shapes as validate

ROOT = Path(__file__).resolve().parent.parent
TTL = "@prefix cd: <https://w3id.org/chemoden#> .\n@prefix s: <https://example.org/s/> .\n"
CONTEXT = json.loads((ROOT / "ontology" / "context.jsonld").read_text())["@context"]


def plain(**fields):
    doc = {"id": "x", "injections": [{"id": "i1", "muscle": "trapezius", "side": "left"}]}
    doc.update(fields)
    return json.dumps(doc)


# (name, input, field named, message fragment, resolution lets it through)
CASES = [
    ("turtle-side-of-another-kind", TTL + "s:x cd:hasInjection s:i1 . s:i1 cd:muscle cd:trapezius ; cd:side cd:Office .",
     "injection <https://example.org/s/i1> cd:side", "unknown side", True),
    ("turtle-approach-of-another-kind", TTL + "s:x cd:approach cd:Left ; cd:hasInjection [ cd:muscleName \"SCM\" ; cd:sideName \"left\" ] .",
     "session cd:approach", "must be one approach", True),
    ("turtle-guidance-of-another-kind", TTL + "s:x cd:guidance cd:Office ; cd:hasInjection [ cd:muscleName \"SCM\" ; cd:sideName \"left\" ] .",
     "session cd:guidance", "found cd:Office", True),
    ("turtle-misspelt-property", TTL + "s:x cd:hasInjection s:i1 . s:i1 cd:muscle cd:procerus ; cd:sidee cd:Left .",
     "injection <https://example.org/s/i1> cd:sidee", "unknown field", True),
    ("turtle-two-amounts", TTL + "s:x cd:hasInjection [ cd:muscleName \"SCM\" ; cd:sideName \"left\" ] ;"
     " cd:agent [ cd:productName \"botox\" ; cd:unitsAdministered 50, 70 ] .",
     "agent cd:unitsAdministered", "found 2: 50, 70", True),
    ("turtle-position-not-a-number", TTL + "s:x cd:hasInjection s:i1 . s:i1 cd:muscleName \"SCM\" ; cd:sideName \"left\" ; cd:position \"first\" .",
     "injection <https://example.org/s/i1> cd:position", "whole number", True),
    ("turtle-ill-typed-position", TTL + "s:x cd:hasInjection s:i1 . s:i1 cd:muscleName \"SCM\" ; cd:sideName \"left\" ;"
     " cd:position \"x\"^^<http://www.w3.org/2001/XMLSchema#integer> .",
     "injection <https://example.org/s/i1> cd:position", 'found "x"', True),
    ("turtle-negative-position", TTL + "s:x cd:hasInjection s:i1 . s:i1 cd:muscleName \"SCM\" ; cd:sideName \"left\" ; cd:position -1 .",
     "injection <https://example.org/s/i1> cd:position", "found -1", True),
    ("turtle-two-profiles", TTL + "s:x cd:profile cd:standardProfile, cd:rtLtProfile ; cd:hasInjection [ cd:muscleName \"SCM\" ; cd:sideName \"left\" ] .",
     "session cd:profile", "found 2", False),
    ("turtle-claim-code-of-another-kind", TTL + "s:x cd:hasInjection [ cd:muscleName \"SCM\" ; cd:sideName \"left\" ] ;"
     " cd:billed [ cd:billedCodeText \"64616\" ; cd:billedModifier cd:Left ] .",
     "claim line cd:billedModifier", "found cd:Left", False),
    ("jsonld-key-the-context-lacks", json.dumps({"@context": CONTEXT, "id": "x",
                                                 "injections": [{"id": "i1", "muscle": "procerus", "sidee": "left"}]}),
     'injection "i1" cd:sidee', "unknown field", True),
    ("json-negative-amount", plain(agent={"product": "Botox", "units_administered": -5}),
     "agent.units_administered", "more than zero, found -5", False),
    ("json-negative-discarded", plain(agent={"product": "Botox", "units_administered": 50, "units_discarded": -1}),
     "agent.units_discarded", "zero or more, found -1", False),
    ("json-claim-zero-units", plain(billed=[{"code": "64616", "units": 0}]),
     "billed[0].units", "1 or more, found 0", False),
    ("json-duplicated-injection-ids", plain(injections=[{"id": "a", "muscle": "SCM", "side": "left"},
                                                        {"id": "b", "muscle": "trapezius", "side": "left"},
                                                        {"id": "a", "muscle": "splenius capitis", "side": "left"}]),
     "injections[0].id", 'duplicated: another injection of the session has the same id, found "a"', False),
    ("turtle-two-dates", TTL + 's:x cd:dateOfService "2026-03-04", "2026-03-05" ; cd:hasInjection [ cd:muscleName "procerus" ] .',
     "session cd:dateOfService", "found 2", False),
    ("turtle-date-of-another-form", TTL + 's:x cd:dateOfService "04/03/2026" ; cd:hasInjection [ cd:muscleName "procerus" ] .',
     "session cd:dateOfService", "YYYY-MM-DD", False),
    ("turtle-patient-iri", TTL + "s:x cd:patientId s:p1 ; cd:hasInjection [ cd:muscleName \"procerus\" ] .",
     "session cd:patientId", "patient identifier", False),
    ("turtle-diagnoses-not-a-list", TTL + 's:x cd:diagnosisCode "G24.3" ; cd:hasInjection [ cd:muscleName "procerus" ] .',
     "session cd:diagnosisCode", "ordered list", False),
    ("turtle-pointer-out-of-range", TTL + 's:x cd:hasInjection [ cd:muscleName "procerus" ] ;'
     ' cd:billed [ cd:billedCodeText "64612" ; cd:diagnosisPointer 13 ] .',
     "claim line cd:diagnosisPointer", "found 13", False),
    ("json-five-pointers", plain(billed=[{"code": "64616", "diagnosis_pointers": [1, 2, 3, 4, 5]}]),
     "billed[0].diagnosis_pointers", "each a whole number from 1 to 12, found 5: 1, 2, 3, 4, 5", False),
    ("turtle-two-doses", TTL + 's:x cd:hasInjection [ cd:muscleName "procerus" ; cd:doseUnits 5, 10 ] .',
     "injection cd:doseUnits", "found 2: 10, 5", False),
    ("turtle-dose-as-text", TTL + 's:x cd:hasInjection [ cd:muscleName "procerus" ; cd:doseUnits "5 U" ] .',
     "injection cd:doseUnits", 'more than 0 and at most 100,000, found "5 U"', False),
    ("turtle-sites-fractional", TTL + 's:x cd:hasInjection [ cd:muscleName "procerus" ; cd:siteCount 2.5 ] .',
     "injection cd:siteCount", "from 1 to 100, found 2.5", False),
    ("turtle-lot-as-a-number", TTL + 's:x cd:hasInjection [ cd:muscleName "procerus" ] ;'
     ' cd:agent [ cd:productName "Botox" ; cd:unitsAdministered 5 ; cd:lotNumber 881003 ] .',
     "agent cd:lotNumber", "found 881003", False),
    ("turtle-21-vial-sizes", TTL + 's:x cd:hasInjection [ cd:muscleName "procerus" ] ;'
     ' cd:agent [ cd:productName "Botox" ; cd:unitsAdministered 5 ; cd:vialUnits '
     + ", ".join(str(n) for n in range(1, 22)) + " ] .",
     "agent cd:vialUnits", "found 21", False),
    # an injection's units through the context scoped to injections: named as the JSON key
    ("json-injection-units-over-the-bound", plain(injections=[{"id": "i1", "muscle": "procerus", "units": 100001}]),
     "injections[0].units", "at most 100,000, found 100001", False),
    ("json-vial-of-zero-units", plain(agent={"product": "Botox", "units_administered": 5, "vial_units": [100, 0]}),
     "agent.vial_units", "each more than 0 and at most 100,000, found 0", False),
    ("json-lot-with-a-space", plain(agent={"product": "Botox", "units_administered": 5, "lot": "C 12"}),
     "agent.lot", 'hyphens, found "C 12"', False),
]
IDS = [c[0] for c in CASES]


def raw_sessions(text: str, ontology):
    """The input as parsed, before resolution (which may refuse it first)."""
    if text.lstrip().startswith("{"):
        doc = json.loads(text)
        if "@context" not in doc:
            graph = plain_graph(with_positions(doc), ontology.context)
            root = next(graph.subjects(CD.hasInjection, None))
            return [SimpleNamespace(input_graph=graph, input_root=root, plain=True, source="<input>")]
        graph = Graph().parse(data=text, format="json-ld", base=SESSION_BASE)
    else:
        graph = Graph().parse(data=text, format="turtle")
    root = next(graph.subjects(CD.hasInjection, None))
    return [SimpleNamespace(input_graph=graph, input_root=root, plain=False, source="<input>")]


@pytest.mark.parametrize("name,text,field,fragment,through", CASES, ids=IDS)
def test_shapes_name_the_field(name, text, field, fragment, through, ontology):
    found = validate.validator(ontology).validate(raw_sessions(text, ontology))[0]
    assert found, "no violation"
    assert (found[0].field, fragment in found[0].message) == (field, True), found


@pytest.mark.parametrize("name,text,field,fragment,through", [c for c in CASES if c[4]], ids=[c[0] for c in CASES if c[4]])
def test_coding_refuses_the_session(name, text, field, fragment, through, ontology):
    with pytest.raises(InputError) as info:
        code_text(text, ontology)
    assert info.value.field == field and fragment in info.value.message


def _pyshacl(graph: Graph, checker) -> set:
    import pyshacl
    from rdflib.namespace import SH

    data = Graph()
    data += graph
    for cls, individuals in checker.members.items():
        for x in individuals:
            data.add((x, RDF.type, cls))
    conforms, report, _ = pyshacl.validate(data, shacl_graph=checker.shapes)
    return {(report.value(r, SH.sourceShape), report.value(r, SH.value))
            for r in report.subjects(RDF.type, SH.ValidationResult)}


@pytest.mark.parametrize("name,text,field,fragment,through", CASES, ids=IDS)
def test_compiled_checks_agree_with_pyshacl(name, text, field, fragment, through, ontology):
    checker = validate.validator(ontology)
    sessions = raw_sessions(text, ontology)
    ours = {(v.shape, v.value) for v in checker.validate(sessions)[0]}
    assert ours == _pyshacl(sessions[0].input_graph, checker)


SHIPPED = sorted(p for p in (ROOT / "examples").rglob("*") if p.is_file()) + sorted((ROOT / "tests" / "cases").glob("*.json")) \
    + sorted((ROOT / "tests" / "audit").glob("*.json"))


def test_every_shipped_session_conforms(ontology):
    sessions = []
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        if path.parent.name in ("cases", "audit"):
            text = json.dumps(json.loads(text)["session"])
        sessions.extend(read_bytes(text, ontology, source=str(path)))
    found = validate.validator(ontology).validate(sessions)  # the whole lot in one call, like a chunk
    assert [(s.source, v[0].field, v[0].message) for s, v in zip(sessions, found) if v] == []
    # and pySHACL agrees on a sample of each input form
    checker = validate.validator(ontology)
    for session in sessions[:: max(1, len(sessions) // 8)]:
        assert _pyshacl(session.input_graph, checker) == set()


def test_chunk_results_stay_with_their_session(ontology):
    good = read_bytes(plain(), ontology)
    bad = raw_sessions(CASES[0][1], ontology)
    errors = validate.check_sessions(good + bad + good, ontology)
    assert errors[0] is None and errors[2] is None
    assert errors[1].field == CASES[0][2]


@pytest.mark.parametrize("shape,what", [
    ("cdsh:X a sh:NodeShape ; sh:targetNode cd:Left ; sh:property [ sh:path cd:side ; sh:maxCount 1 ] .", "sh:targetNode"),
    ("cdsh:X a sh:NodeShape ; sh:targetClass cd:Session ; sh:property [ sh:path ( cd:a cd:b ) ; sh:maxCount 1 ] .",
     "a sh:path that is not one IRI"),
    ("cdsh:X a sh:NodeShape ; sh:targetClass cd:Session ; sh:property [ sh:path cd:a ; sh:lessThan cd:b ] .", "sh:lessThan"),
])
def test_a_shape_the_compiler_cannot_run_is_refused(shape, what, ontology, tmp_path):
    path = tmp_path / "session.ttl"
    path.write_text("@prefix cd: <https://w3id.org/chemoden#> .\n@prefix cdsh: <https://w3id.org/chemoden/shapes#> .\n"
                    "@prefix sh: <http://www.w3.org/ns/shacl#> .\n" + shape)
    with pytest.raises(OntologyError) as info:
        validate.SessionValidator(ontology, path)
    assert what in str(info.value) and str(path) in str(info.value)
