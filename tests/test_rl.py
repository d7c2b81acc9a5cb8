"""rl.py, the OWL 2 RL rules the fast path runs inside Oxigraph: the same triples as the Rust
reasoner for sessions (owl:Thing typing aside, which no OWL 2 RL rule makes), and it refuses an
ontology that uses OWL it does not cover."""

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from conftest import CASES, load_case
from reasoner import fastpath, inference, read_document, rl
from reasoner.backend import to_quads

pytestmark = pytest.mark.skipif(not (fastpath.available() and inference.available("reasonable")),
                                reason="pyoxigraph and reasonable are needed")


def test_the_shipped_ontology_uses_only_covered_owl(ontology):
    coder = fastpath.FastCoder(ontology)
    assert rl.unsupported(coder.closure) == []
    assert coder.engine == "rl"


@pytest.mark.parametrize("term", [OWL.FunctionalProperty, OWL.TransitiveProperty])
def test_owl_outside_the_rules_is_named(term):
    g = Graph()
    g.add((URIRef("https://example.org/p"), RDF.type, term))
    expected = [] if term in rl.SUPPORTED else [str(term)]
    assert rl.unsupported(g) == expected


def test_a_property_chain_is_named():
    g = Graph()
    g.add((URIRef("https://example.org/p"), OWL.propertyChainAxiom, RDF.nil))
    assert rl.unsupported(g) == [str(OWL.propertyChainAxiom)]


def _triples(store):
    import pyoxigraph as ox

    return {(q.subject, q.predicate, q.object) for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph())}


def test_same_entailments_as_reasonable_on_every_session_fixture(ontology):
    import pyoxigraph as ox

    coder = fastpath.FastCoder(ontology, "rl")
    sessions = [read_document(load_case(p)["session"], ontology, profile=load_case(p).get("profile")) for p in CASES]
    facts = [t for s in sessions for t in s.triples]
    store = ox.Store()
    store.extend(coder._closure_quads)
    store.extend(to_quads(facts, ox.NamedNode(rl.DELTA)))
    rl.reason(store, coder._rl_updates)
    ours = _triples(store)

    coder.engine = "reasonable"  # the same closure (blank nodes and all), reasoned over by Rust
    theirs = set(to_quads(list(coder.closure) + facts + coder._reason(facts)))
    theirs = {(q.subject, q.predicate, q.object) for q in theirs}
    thing = ox.NamedNode(str(OWL.Thing))
    theirs = {t for t in theirs if t[2] != thing}
    ours = {t for t in ours if t[2] != thing}
    assert ours - theirs == set()
    assert theirs - ours == set()
