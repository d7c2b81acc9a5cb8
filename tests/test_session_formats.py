"""The same session as plain JSON, JSON-LD with its own inline context, and Turtle."""

import json

import pytest

from reasoner import InputError, code, read_bytes


def _lines(results):
    return [sorted((ln.code, ln.units, ln.modifiers) for ln in r.lines) for r in results]


def _code(text, ontology, **kw):
    return [code(s, ontology) for s in read_bytes(text, ontology, **kw)]


PLAIN = {"id": "fmt", "guidance": ["needle-emg"],
         "injections": [{"muscle": "left SCM"}, {"muscle": "trapezius", "side": "right"}]}
EXPECTED = [[("64616", 1, ("50",)), ("95874", 1, ())]]


def test_plain_json(ontology):
    assert _lines(_code(json.dumps(PLAIN), ontology)) == EXPECTED


def test_jsonld_with_its_own_inline_context(ontology):
    doc = {"@context": {"@vocab": "https://w3id.org/chemoden#", "muscle": "muscleName", "lado": "sideName",
                        "inyecciones": "hasInjection", "guia": "guidanceName"},
           "@id": "https://example.org/session/fmt", "guia": "EMG",
           "inyecciones": [{"muscle": "left SCM"}, {"muscle": "trapezius", "lado": "right"}]}
    results = _code(json.dumps(doc), ontology)
    assert _lines(results) == EXPECTED
    assert str(results[0].session.iri) == "https://example.org/session/fmt"


def test_turtle_with_iris_and_names(ontology):
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:fmt> a cd:Session ; cd:guidance cd:NeedleEMG ;
        cd:hasInjection [ cd:muscle cd:sternocleidomastoid ; cd:side cd:Left ] ,
                        [ cd:muscleName "trapezius" ; cd:sideName "right" ] ."""
    assert _lines(_code(ttl, ontology)) == EXPECTED


def test_turtle_with_several_sessions(ontology):
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:a> cd:hasInjection [ cd:muscleName "procerus" ] .
    <urn:x:b> cd:hasInjection [ cd:muscleName "detrusor" ] ."""
    assert _lines(_code(ttl, ontology)) == [[("64612", 1, ())], [("52287", 1, ())]]


def test_json_list_of_sessions(ontology):
    docs = [PLAIN, {"id": "other", "injections": [{"muscle": "internal anal sphincter"}]}]
    assert _lines(_code(json.dumps(docs), ontology)) == EXPECTED + [[("46505", 1, ())]]


@pytest.mark.parametrize("context", ["https://example.org/context.jsonld", "file:///etc/passwd",
                                     ["https://example.org/c.jsonld"], {"@import": "https://example.org/c"}])
def test_remote_or_file_context_is_refused(context, ontology):
    doc = dict(PLAIN, **{"@context": context})
    with pytest.raises(InputError, match="@context|@import"):
        read_bytes(json.dumps(doc), ontology)


def test_unknown_enumeration_in_turtle_is_named(ontology):
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:a> cd:approach cd:Telepathy ; cd:hasInjection [ cd:muscleName "procerus" ] ."""
    with pytest.raises(InputError, match="approach.*Telepathy"):
        read_bytes(ttl, ontology)


def _fixture_sessions():
    from conftest import AUDITS, CASES, load_case

    return [(p.stem, load_case(p)["session"]) for p in CASES + AUDITS]


def test_plain_json_builder_equals_the_jsonld_processor(ontology):
    """Plain JSON is read by a direct builder; it must make exactly what the JSON-LD processor
    makes of the document with the shipped context."""
    from rdflib import Graph
    from rdflib.compare import isomorphic

    from reasoner.intake.plain import plain_graph, with_positions

    for name, doc in _fixture_sessions():
        jsonld = with_positions(doc)
        processed = Graph().parse(data=json.dumps(dict(jsonld, **{"@context": ontology.context})),
                                  format="json-ld", base="https://w3id.org/chemoden/session/")
        assert isomorphic(plain_graph(jsonld, ontology.context), processed), name


# --- the session's patient, date and diagnoses, and the claim's diagnosis pointers -----------------

FIELDS = {"id": "fields", "patient": "P123", "date": "2026-03-04", "diagnoses": ["g243", "M54.2"],
          "guidance": ["needle-emg"], "injections": [{"muscle": "left SCM"}, {"muscle": "trapezius", "side": "right"}],
          "billed": [{"code": "64616", "modifiers": ["50"], "diagnosis_pointers": [1, 2]},
                     {"code": "95874", "diagnosis_pointers": [1]}]}
FIELDS_TTL = """@prefix cd: <https://w3id.org/chemoden#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<https://w3id.org/chemoden/session/fields> a cd:Session ; cd:identifier "fields" ; cd:patientId "P123" ;
    cd:dateOfService "2026-03-04"^^xsd:date ; cd:diagnosisCode ( "G24.3" "m542" ) ; cd:guidanceName "needle-emg" ;
    cd:hasInjection [ cd:muscleName "left SCM" ; cd:position 0 ] , [ cd:muscleName "trapezius" ; cd:sideName "right" ; cd:position 1 ] ;
    cd:billed [ cd:billedCodeText "64616" ; cd:billedModifierText "50" ; cd:diagnosisPointer 2, 1 ; cd:position 0 ] ,
              [ cd:billedCodeText "95874" ; cd:diagnosisPointer 1 ; cd:position 1 ] ."""


@pytest.mark.parametrize("variant", [
    {},
    {"diagnoses": "G24.3"},  # one code alone is a list of one, as the JSON-LD processor reads it
    {"diagnoses": []},
    {"patient": 12345, "date": None},
    {"billed": [{"code": "64616", "diagnosis_pointers": 3}]},
])
def test_plain_json_builder_equals_the_jsonld_processor_with_the_new_fields(variant, ontology):
    from rdflib import Graph
    from rdflib.compare import isomorphic

    from reasoner.intake.plain import plain_graph, with_positions

    doc = with_positions(dict(FIELDS, **variant))
    processed = Graph().parse(data=json.dumps(dict(doc, **{"@context": ontology.context})), format="json-ld",
                              base="https://w3id.org/chemoden/session/")
    assert isomorphic(plain_graph(doc, ontology.context), processed)


def test_the_new_fields_read_the_same_in_every_form(ontology):
    """Plain JSON, JSON-LD through the shipped context and Turtle give one resolved session."""
    from rdflib.compare import isomorphic

    plain = read_bytes(json.dumps(FIELDS), ontology)[0]
    positioned = dict(FIELDS, injections=[dict(i, position=n) for n, i in enumerate(FIELDS["injections"])],
                      billed=[dict(b, position=n) for n, b in enumerate(FIELDS["billed"])])
    jsonld = read_bytes(json.dumps(dict(positioned, **{"@context": ontology.context,
                                                       "@id": "https://w3id.org/chemoden/session/fields"})), ontology)[0]
    turtle = read_bytes(FIELDS_TTL, ontology)[0]
    for session in (plain, jsonld, turtle):
        assert (session.patient, str(session.date), session.diagnoses) == ("P123", "2026-03-04", ("G24.3", "M54.2"))
        assert [line.get("diagnosis_pointers") for line in session.claim] == [[1, 2], [1]]
    assert isomorphic(plain.graph, jsonld.graph) and isomorphic(plain.graph, turtle.graph)
    assert _lines([code(turtle, ontology)]) == EXPECTED


def test_the_order_of_diagnoses_is_kept_in_every_form(ontology):
    codes = ["M54.2", "G24.3", "R25.2"]
    doc = dict(FIELDS, diagnoses=codes, billed=[])
    ttl = FIELDS_TTL.replace('( "G24.3" "m542" )', "( " + " ".join(f'"{c}"' for c in codes) + " )")
    for text in (json.dumps(doc), json.dumps(dict(doc, **{"@context": ontology.context})), ttl):
        assert read_bytes(text, ontology)[0].diagnoses == tuple(codes)


# --- an injection's units and sites, the agent's lot and vials ------------------------------------

DOSES = {"id": "doses", "injections": [{"muscle": "left SCM", "units": 30, "sites": 2},
                                       {"muscle": "trapezius", "side": "right", "units": 20.5}],
         "agent": {"product": "Botox", "units_administered": 50.5, "units_discarded": 49.5, "lot": "C8810C3",
                   "vial_units": [100, 50]},
         "billed": [{"code": "64616", "units": 1, "modifiers": ["50"]}, {"code": "J0585", "units": 51}]}
# 20.50 and 50.0: the same values written otherwise, as a Turtle author may
DOSES_TTL = """@prefix cd: <https://w3id.org/chemoden#> .
<https://w3id.org/chemoden/session/doses> a cd:Session ; cd:identifier "doses" ;
    cd:hasInjection [ cd:muscleName "left SCM" ; cd:doseUnits 30 ; cd:siteCount 2 ; cd:position 0 ] ,
                    [ cd:muscleName "trapezius" ; cd:sideName "right" ; cd:doseUnits 20.50 ; cd:position 1 ] ;
    cd:agent [ cd:productName "Botox" ; cd:unitsAdministered 50.5 ; cd:unitsDiscarded 49.5 ; cd:lotNumber "C8810C3" ;
               cd:vialUnits 100, 50.0 ] ;
    cd:billed [ cd:billedCodeText "64616" ; cd:billedUnits 1 ; cd:billedModifierText "50" ; cd:position 0 ] ,
              [ cd:billedCodeText "J0585" ; cd:billedUnits 51 ; cd:position 1 ] ."""


@pytest.mark.parametrize("variant", [
    {},
    {"agent": dict(DOSES["agent"], vial_units=100)},  # one vial alone is a list of one, as the processor reads it
    {"agent": dict(DOSES["agent"], vial_units=[100, 100])},
    {"injections": [{"muscle": "procerus", "units": 5, "sites": None}]},
])
def test_plain_json_builder_equals_the_jsonld_processor_with_doses(variant, ontology):
    """An injection's `units` is cd:doseUnits through the context scoped to `injections`, while a
    claim line's `units` stays cd:billedUnits: the builder reads the scoped context as the
    processor does."""
    from rdflib import Graph
    from rdflib.compare import isomorphic

    from reasoner.intake.plain import plain_graph, with_positions

    doc = with_positions(dict(DOSES, **variant))
    processed = Graph().parse(data=json.dumps(dict(doc, **{"@context": ontology.context})), format="json-ld",
                              base="https://w3id.org/chemoden/session/")
    built = plain_graph(doc, ontology.context)
    assert isomorphic(built, processed)
    from reasoner.core.vocab import CD

    assert {str(o) for o in built.objects(None, CD.billedUnits)} == {"1", "51"}
    assert len(set(built.objects(None, CD.doseUnits))) == len(doc["injections"])


def test_the_doses_read_the_same_in_every_form(ontology):
    """Plain JSON, JSON-LD through the shipped context and Turtle give one resolved session,
    the numbers in one form whatever way they were written (20.50 is 20.5)."""
    from rdflib.compare import isomorphic

    plain = read_bytes(json.dumps(DOSES), ontology)[0]
    positioned = dict(DOSES, injections=[dict(i, position=n) for n, i in enumerate(DOSES["injections"])],
                      billed=[dict(b, position=n) for n, b in enumerate(DOSES["billed"])])
    jsonld = read_bytes(json.dumps(dict(positioned, **{"@context": ontology.context,
                                                       "@id": "https://w3id.org/chemoden/session/doses"})), ontology)[0]
    turtle = read_bytes(DOSES_TTL, ontology)[0]
    assert isomorphic(plain.graph, jsonld.graph) and isomorphic(plain.graph, turtle.graph)
    assert [ln["units"] for ln in plain.claim] == [1, 51]
    assert _lines([code(turtle, ontology)]) == _lines([code(plain, ontology)])


def test_turtle_giving_a_target_and_its_name_as_chemoden_writes_them(ontology):
    """Chemoden's own Turtle gives an injection's target and the name as written, an NDC as written
    and in 11 digits: read as one value when they agree, refused as two when they do not."""
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:fmt> a cd:Session ; cd:guidance cd:NeedleEMG ;
        cd:hasInjection [ cd:muscle cd:sternocleidomastoid ; cd:muscleName "left SCM" ] ,
                        [ cd:muscle cd:trapezius ; cd:muscleName "trapezius" ; cd:side cd:Right ] ;
        cd:agent [ cd:productName "Botox" ; cd:ndcText "0023-1145-01" ; cd:ndc "00023114501" ;
                   cd:unitsAdministered 100 ] ."""
    (result,) = _code(ttl, ontology)
    assert sorted((ln.code, ln.units, ln.modifiers) for ln in result.lines if ln.code.startswith("6")) == [("64616", 1, ("50",))]
    for other in ('cd:muscle cd:sternocleidomastoid ; cd:muscleName "trapezius"', 'cd:ndc "00023392102"'):
        broken = ttl.replace('cd:muscle cd:sternocleidomastoid ; cd:muscleName "left SCM"', other) if "muscle" in other \
            else ttl.replace('cd:ndc "00023114501"', other)
        with pytest.raises(InputError) as refused:
            _code(broken, ontology)
        assert "has several values" in str(refused.value)
