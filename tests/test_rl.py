"""rl.py, the OWL 2 RL rules the fast path runs over each chunk: the same entailments as owlrl on
generated schemas that use every construct it supports, the same as the Rust reasoner on every
session fixture (owl:Thing typing aside, which no OWL 2 RL rule makes), and a refusal of OWL it
does not cover."""

import random

import pytest
from conftest import CASES, load_case
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

from reasoner import read_document
from reasoner.coding import fast as fastpath
from reasoner.engines import inference, registry, rl
from reasoner.engines.backend import to_quads
from reasoner.knowledge import cache

EX = "https://example.org/"
KINDS = ("sco", "eqc", "dom", "rng", "spo", "eqp", "inv", "sym", "trp", "int", "int-twice", "uni", "svf", "svf-thing",
         "avf", "hv", "hv-literal")


@pytest.mark.parametrize("engine", ["owlrl", "reasonable"])
def test_the_shipped_ontology_uses_only_covered_owl(ontology, engine):
    if not registry.installed(engine):
        pytest.skip(f"{engine} not installed")
    assert rl.unsupported(cache.closure(ontology, engine)) == []


def test_the_fast_coder_uses_these_rules(ontology):
    assert fastpath.FastCoder(ontology).engine == "rl"


@pytest.mark.parametrize("term", [OWL.FunctionalProperty, OWL.TransitiveProperty])
def test_owl_outside_the_rules_is_named(term):
    g = Graph()
    g.add((URIRef(f"{EX}p"), RDF.type, term))
    expected = [] if term in rl.SUPPORTED else [str(term)]
    assert rl.unsupported(g) == expected


def test_a_property_chain_is_named():
    g = Graph()
    g.add((URIRef(f"{EX}p"), OWL.propertyChainAxiom, RDF.nil))
    assert rl.unsupported(g) == [str(OWL.propertyChainAxiom)]


def test_a_rule_that_would_conclude_schema_is_named():
    """A restriction whose value is itself schema (here a subclass axiom) would change the
    tables while they are read: refused, so the general engine reasons instead."""
    g = Graph()
    r = BNode()
    g.add((r, RDF.type, OWL.Restriction))
    g.add((r, OWL.onProperty, RDFS.subClassOf))
    g.add((r, OWL.hasValue, URIRef(f"{EX}C")))
    assert rl.unsupported(g) == [str(RDFS.subClassOf)]


def test_a_chunk_stating_schema_is_refused_and_the_fast_coder_falls_back(ontology):
    coder = fastpath.FastCoder(ontology)
    x, c = URIRef(f"{EX}x"), URIRef(f"{EX}C")
    facts = [(x, RDFS.subClassOf, c)]
    with pytest.raises(rl.Unsupported):
        coder._rules.entail(facts)
    assert (x, RDFS.subClassOf, c) in coder._reason(facts)


# --- generated schemas against owlrl ---------------------------------------------------

def _schema(rng: random.Random, must: str) -> tuple[Graph, list, list, list]:
    """A small random ontology using `must` and a few other supported constructs, with some
    individuals of its own (as the shipped ontology has muscles and sides)."""
    g = Graph()
    classes = [URIRef(f"{EX}C{i}") for i in range(6)]
    props = [URIRef(f"{EX}p{i}") for i in range(4)]
    named = [URIRef(f"{EX}o{i}") for i in range(4)]
    for c in classes:
        g.add((c, RDF.type, OWL.Class))
    for p in props:
        g.add((p, RDF.type, OWL.ObjectProperty))
    for kind in [must] + [rng.choice(KINDS) for _ in range(rng.randint(2, 8))]:
        a, b = rng.sample(classes, 2)
        p, q = rng.sample(props, 2)
        axioms = {"sco": (a, RDFS.subClassOf, b), "eqc": (a, OWL.equivalentClass, b), "dom": (p, RDFS.domain, a),
                  "rng": (p, RDFS.range, a), "spo": (p, RDFS.subPropertyOf, q),
                  "eqp": (p, OWL.equivalentProperty, q), "inv": (p, OWL.inverseOf, q),
                  "sym": (p, RDF.type, OWL.SymmetricProperty), "trp": (p, RDF.type, OWL.TransitiveProperty)}
        if kind in axioms:
            g.add(axioms[kind])
        elif kind in ("int", "int-twice", "uni"):
            for _ in range(2 if kind == "int-twice" else 1):  # a class can be two intersections
                head = BNode()
                Collection(g, head, rng.sample(classes, rng.randint(2, 3)))
                g.add((a, OWL.unionOf if kind == "uni" else OWL.intersectionOf, head))
        else:
            r = BNode()
            g.add((r, RDF.type, OWL.Restriction))
            g.add((r, OWL.onProperty, p))
            filler = {"svf": (OWL.someValuesFrom, b), "svf-thing": (OWL.someValuesFrom, OWL.Thing),
                      "avf": (OWL.allValuesFrom, b), "hv": (OWL.hasValue, rng.choice(named)),
                      "hv-literal": (OWL.hasValue, Literal(rng.randint(1, 2)))}[kind]
            g.add((r, *filler))
            # someValuesFrom only as a subclass (OWL 2 RL); the others either way round
            g.add((r, RDFS.subClassOf, a) if kind.startswith("svf") or rng.random() < 0.5 else (a, RDFS.subClassOf, r))
    for o in named:
        if rng.random() < 0.6:
            g.add((o, RDF.type, rng.choice(classes)))
        if rng.random() < 0.4:
            g.add((o, rng.choice(props), rng.choice(named)))
    return g, classes, props, named


def _facts(rng: random.Random, classes, props, named) -> list[tuple]:
    """A session's worth of facts: its own individuals, typed and linked to each other, to the
    ontology's individuals and to literals (and a fact or two about an ontology individual, so
    that a rule's other premise is sometimes found in the closure)."""
    own = [URIRef(f"{EX}session/x{i}") for i in range(5)]
    out = []
    for _ in range(rng.randint(3, 12)):
        x, roll = rng.choice(own + named[:1]), rng.random()
        if roll < 0.35:
            out.append((x, RDF.type, rng.choice(classes)))
        elif roll < 0.85:
            out.append((x, rng.choice(props), rng.choice(own + named)))
        else:
            out.append((x, rng.choice(props), Literal(rng.randint(1, 2))))
    return out


def _owlrl(*sources) -> Graph:
    g = Graph()
    for source in sources:
        for triple in source:
            g.add(triple)
    return inference.closure(g, "owlrl")


def _instance(triples, individuals) -> set:
    """What is said of the individuals, without owlrl's owl:Thing typing and reflexive sameAs."""
    return {t for t in triples if t[0] in individuals and not (t[1] == OWL.sameAs and t[0] == t[2])
            and (t[1] != RDF.type or str(t[2]).startswith(EX))}


@pytest.mark.parametrize("seed", range(48))
def test_same_entailments_as_owlrl_on_a_generated_schema(seed):
    """The fast path's split (ontology closed once, then a chunk's facts reasoned over against
    that closure) gives what owlrl gives for ontology and facts closed together."""
    rng = random.Random(seed)
    schema, classes, props, named = _schema(rng, KINDS[seed % len(KINDS)])
    facts = _facts(rng, classes, props, named)
    closure = _owlrl(schema)
    assert rl.unsupported(closure) == []
    ours = set(closure) | set(facts) | set(rl.Rules(closure).entail(facts))
    theirs = set(_owlrl(schema, facts))
    individuals = set(named) | {s for s, _, _ in facts} | {o for _, _, o in facts if isinstance(o, URIRef)}
    assert _instance(ours, individuals) == _instance(theirs, individuals)


# Rules with two instance premises, each premise arriving last in turn (the other is already
# known when it comes), and generalized RDF (a literal as a subject on the way): hand-made cases
# that random schemas reach only now and then. (ontology in Turtle, facts, a triple owlrl entails)
_X, _Y, _V = (URIRef(f"{EX}session/{n}") for n in "xyv")
_P, _Q, _S = (URIRef(f"{EX}{n}") for n in "pqs")
_C, _D, _E, _R = (URIRef(f"{EX}{n}") for n in "CDER")
_HEAD = f"@prefix : <{EX}> . @prefix owl: <http://www.w3.org/2002/07/owl#> . " \
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . "
_SOME = ":R owl:equivalentClass [ a owl:Restriction ; owl:onProperty :p ; owl:someValuesFrom :D ] . :E rdfs:subClassOf :D ."
_ALL = ":C rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :p ; owl:allValuesFrom :D ] . :E rdfs:subClassOf :C ."
LATE = {
    "cls-svf1, the filler's type last": (_SOME, [(_X, _P, _Y), (_Y, RDF.type, _E)], (_X, RDF.type, _R)),
    "cls-svf1, the link last": (_SOME + " :q owl:inverseOf :p .", [(_Y, RDF.type, _D), (_Y, _Q, _X)],
                                (_X, RDF.type, _R)),
    "cls-avf, the type last": (_ALL, [(_X, _P, _V), (_X, RDF.type, _E)], (_V, RDF.type, _D)),
    "cls-avf, the link last": (_ALL + " :q owl:inverseOf :p . :s rdfs:subPropertyOf :q .",
                               [(_X, RDF.type, _C), (_V, _S, _X)], (_V, RDF.type, _D)),
    "prp-trp, the second link last": (":p a owl:TransitiveProperty . :s rdfs:subPropertyOf :p .",
                                      [(_X, _P, _Y), (_Y, _S, _V)], (_X, _P, _V)),
    "prp-trp through a literal": (":p a owl:SymmetricProperty, owl:TransitiveProperty .", [(_X, _P, Literal(1))],
                                  (_X, _P, _X)),
}


@pytest.mark.parametrize("case", LATE)
def test_a_premise_that_arrives_last(case):
    turtle, facts, expected = LATE[case]
    schema = Graph().parse(data=_HEAD + turtle, format="turtle")
    closure = _owlrl(schema)
    ours = set(closure) | set(facts) | set(entailed := rl.Rules(closure).entail(facts))
    assert expected in ours
    assert not any(isinstance(s, Literal) for s, _, _ in entailed)  # not RDF: left out
    individuals = {_X, _Y, _V}
    assert _instance(ours, individuals) == _instance(_owlrl(schema, facts), individuals)


# --- the session fixtures against reasonable --------------------------------------------

@pytest.mark.skipif(not (registry.has_oxigraph() and registry.installed("reasonable")),
                    reason="pyoxigraph and reasonable are needed")
def test_same_entailments_as_reasonable_on_every_session_fixture(ontology):
    import pyoxigraph as ox

    coder = fastpath.FastCoder(ontology, "rl")
    sessions = [read_document(load_case(p)["session"], ontology, profile=load_case(p).get("profile")) for p in CASES]
    facts = [t for s in sessions for t in s.triples]
    ours = coder._reason(facts)

    coder.engine = "reasonable"  # the same closure (blank nodes and all), reasoned over by Rust
    theirs = coder._reason(facts)
    # compared as Oxigraph terms, which read plain and xsd:string literals alike
    thing = ox.NamedNode(str(OWL.Thing))
    ours = {(q.subject, q.predicate, q.object) for q in to_quads(ours) if q.object != thing}
    theirs = {(q.subject, q.predicate, q.object) for q in to_quads(theirs) if q.object != thing}
    assert ours - theirs == set()
    assert theirs - ours == set()
