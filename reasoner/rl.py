"""OWL 2 RL for a chunk of sessions, as SPARQL updates inside Oxigraph.

The ontology's own closure is computed once (owlrl or reasonable) and cached. A chunk of
sessions can only add entailments through rules with at least one premise among the chunk's
triples, so the rules run semi-naively: one premise comes from the triples that are new
(graph DELTA), the others from everything, and rounds repeat until one adds nothing.

The rules are the instance-level rules of the OWL 2 RL profile (W3C, OWL 2 Profiles, 4.3,
tables 4-6) for the constructs listed in SUPPORTED; `unsupported()` names anything else the
schema uses, and the fast path then reasons with `reasonable` or owlrl instead. (Both of those
also type every individual as owl:Thing; no OWL 2 RL rule says so and no query reads it, so
this engine leaves it out.) This runs
inside the store that the queries use next, so no triple crosses into Python and back.
tests/test_parity.py proves the results equal to the owlrl reference.
"""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF

_PREFIXES = """PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX rl: <urn:chemoden:rl#>
"""
DELTA = "urn:chemoden:rl:delta"
NEXT = "urn:chemoden:rl:next"
HELPER = "urn:chemoden:rl:helper"  # intersection members and their count, for cls-int1

# OWL terms the rules below cover; anything else from the OWL vocabulary in the schema
# (functional properties, sameAs, cardinalities, keys, chains, disjointness...) is refused.
SUPPORTED = {OWL[n] for n in (
    "Class", "Restriction", "ObjectProperty", "DatatypeProperty", "AnnotationProperty", "NamedIndividual",
    "Ontology", "Thing", "SymmetricProperty", "TransitiveProperty", "onProperty", "hasValue",
    "someValuesFrom", "allValuesFrom", "intersectionOf", "unionOf", "equivalentClass",
    "equivalentProperty", "inverseOf", "versionIRI", "versionInfo", "imports", "deprecated")}

# (OWL 2 RL rule, conclusion, schema premises, instance premises). Each instance premise in
# turn is read from DELTA; a rule with two instance premises gives two updates.
RULES = [
    ("prp-dom", "?x a ?c", "?p rdfs:domain ?c .", ["?x ?p ?y"]),
    ("prp-rng", "?y a ?c", "?p rdfs:range ?c .", ["?x ?p ?y FILTER (!isLiteral(?y))"]),
    ("prp-symp", "?y ?p ?x", "?p a owl:SymmetricProperty .", ["?x ?p ?y FILTER (!isLiteral(?y))"]),
    ("prp-trp", "?x ?p ?z", "?p a owl:TransitiveProperty .", ["?x ?p ?y", "?y ?p ?z"]),
    ("prp-spo1", "?x ?q ?y", "?p rdfs:subPropertyOf ?q .", ["?x ?p ?y"]),
    ("prp-eqp1", "?x ?q ?y", "?p owl:equivalentProperty ?q .", ["?x ?p ?y"]),
    ("prp-eqp2", "?x ?p ?y", "?p owl:equivalentProperty ?q .", ["?x ?q ?y"]),
    ("prp-inv1", "?y ?q ?x", "?p owl:inverseOf ?q .", ["?x ?p ?y FILTER (!isLiteral(?y))"]),
    ("prp-inv2", "?y ?p ?x", "?p owl:inverseOf ?q .", ["?x ?q ?y FILTER (!isLiteral(?y))"]),
    ("cls-int2", "?x a ?ci", "?c owl:intersectionOf ?l . ?l rdf:rest*/rdf:first ?ci .", ["?x a ?c"]),
    ("cls-uni", "?x a ?c", "?c owl:unionOf ?l . ?l rdf:rest*/rdf:first ?ci .", ["?x a ?ci"]),
    ("cls-svf1", "?x a ?c", "?c owl:someValuesFrom ?d ; owl:onProperty ?p .", ["?x ?p ?y", "?y a ?d"]),
    ("cls-svf2", "?x a ?c", "?c owl:someValuesFrom owl:Thing ; owl:onProperty ?p .", ["?x ?p ?y"]),
    ("cls-avf", "?v a ?d", "?c owl:allValuesFrom ?d ; owl:onProperty ?p .",
     ["?u a ?c", "?u ?p ?v FILTER (!isLiteral(?v))"]),
    ("cls-hv1", "?x ?p ?v", "?c owl:hasValue ?v ; owl:onProperty ?p .", ["?x a ?c"]),
    ("cls-hv2", "?x a ?c", "?c owl:hasValue ?v ; owl:onProperty ?p .", ["?x ?p ?v"]),
    ("cax-sco", "?x a ?d", "?c rdfs:subClassOf ?d .", ["?x a ?c"]),
    ("cax-eqc1", "?x a ?d", "?c owl:equivalentClass ?d .", ["?x a ?c"]),
    ("cax-eqc2", "?x a ?c", "?c owl:equivalentClass ?d .", ["?x a ?d"]),
]

# cls-int1: x has every type of an intersection, one of them new in this round
_INT1 = ("cls-int1", "?x a ?c", f"""
  {{ SELECT DISTINCT ?x ?c WHERE {{ GRAPH <{DELTA}> {{ ?x a ?cj }} GRAPH <{HELPER}> {{ ?c rl:member ?cj }} }} }}
  FILTER NOT EXISTS {{ GRAPH <{HELPER}> {{ ?c rl:member ?ci }} FILTER NOT EXISTS {{ ?x a ?ci }} }}""")

# Rules run in this order, so that one round carries a session's facts a long way (sides,
# then classes by value and by filler, then superclasses); whatever a rule derives is at
# once visible to the rules after it, and to every rule in the next round.
_ORDER = ("prp-spo1", "prp-eqp1", "prp-eqp2", "prp-symp", "prp-inv1", "prp-inv2", "prp-trp", "prp-dom",
          "prp-rng", "cls-hv2", "cls-svf1", "cls-svf2", "cls-int1", "cax-sco", "cax-eqc1", "cax-eqc2",
          "cls-uni", "cls-int2", "cls-hv1", "cls-avf")


_ROUND_END = f"DROP SILENT GRAPH <{DELTA}> ; MOVE SILENT <{NEXT}> TO <{DELTA}>"


def _insert(head: str) -> str:
    return f"INSERT {{ {head} . GRAPH <{NEXT}> {{ {head} }} GRAPH <{DELTA}> {{ {head} }} }}"


def updates(closure) -> list[str]:
    """The updates for the rules whose schema premises the ontology has (others cannot fire)."""
    from rdflib.plugins.sparql import prepareQuery

    rules = {name: (head, schema, premises) for name, head, schema, premises in RULES}
    out = []
    for name in _ORDER:
        if name == "cls-int1":
            if any(True for _ in closure.triples((None, OWL.intersectionOf, None))):
                out.append(f"{_PREFIXES}{_insert(_INT1[1])} WHERE {{ {_INT1[2]} FILTER NOT EXISTS {{ {_INT1[1]} }} }}")
            continue
        head, schema, premises = rules[name]
        if schema and not bool(closure.query(prepareQuery(f"{_PREFIXES}ASK {{ {schema} }}"))):
            continue
        for i, premise in enumerate(premises):
            others = " ".join(f"{{ {p} }}" for j, p in enumerate(premises) if j != i)
            out.append(f"{_PREFIXES}{_insert(head)} WHERE {{ GRAPH <{DELTA}> {{ {premise} }} {schema} {others} "
                       f"FILTER NOT EXISTS {{ {head} }} }}")
    return out


def unsupported(closure) -> list[str]:
    """The OWL terms the ontology (not the W3C vocabularies themselves) uses that these rules
    do not cover; empty when this engine is exact for it."""
    found = set()
    for s, p, o in closure:
        if isinstance(s, URIRef) and str(s).startswith("http://www.w3.org/"):
            continue
        if str(p).startswith(str(OWL)) and p not in SUPPORTED:
            found.add(str(p))
        if p == RDF.type and str(o).startswith(str(OWL)) and o not in SUPPORTED:
            found.add(str(o))
    return sorted(found)


def helper_triples(closure) -> list[tuple]:
    """Each intersection's members and their number (read by cls-int1)."""
    member, size = URIRef("urn:chemoden:rl#member"), URIRef("urn:chemoden:rl#size")
    rest = {s: o for s, p, o in closure if p == RDF.rest}
    first = {s: o for s, p, o in closure if p == RDF.first}
    out = []
    for c, _, head in closure.triples((None, OWL.intersectionOf, None)):
        members, node = set(), head
        while node in first:
            members.add(first[node])
            node = rest.get(node, RDF.nil)
        out += [(c, member, m) for m in members]
        out.append((c, size, Literal(len(members))))
    return out


def reason(store, rule_updates: list[str]) -> None:
    """Add to `store` what OWL 2 RL entails from the chunk's facts. The store holds the closed
    ontology in the default graph, the HELPER graph, and the chunk's facts in DELTA only. A
    triple a rule derives goes to the default graph, to DELTA (for the rules after it) and to
    NEXT (for the rules before it, in the next round)."""
    import pyoxigraph as ox

    delta = ox.NamedNode(DELTA)
    store.update(f"ADD <{DELTA}> TO DEFAULT")
    while True:
        for update in rule_updates:
            store.update(update)
        store.update(_ROUND_END)
        if next(iter(store.quads_for_pattern(None, None, None, delta)), None) is None:
            return
