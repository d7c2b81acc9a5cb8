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
