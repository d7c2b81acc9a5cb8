"""OWL 2 RL for a chunk of sessions: the ontology's schema compiled into lookup tables.

The ontology's own closure is computed once (owlrl or reasonable) and cached. A chunk of
sessions can only add entailments through rules with at least one premise among the chunk's
triples, so the rules run semi-naively: each new triple (a session fact, or one a rule has just
concluded) is matched once against every premise it can fill, the rule's other premises are
looked up among everything known (closure, facts, conclusions so far), and what the rule
concludes joins the queue. The queue empties at the fixpoint, whatever the order.

The rules are the instance-level rules of the OWL 2 RL profile (W3C, OWL 2 Profiles, 4.3,
tables 4-6) for the constructs in SUPPORTED; each rule's schema premises are read from the
closure once, into tables keyed by what a new triple brings (its class, its property, its
property and value). `unsupported()` names any other OWL the schema uses, and the fast path
then reasons with `reasonable` or owlrl instead. (Both of those also type every individual as
owl:Thing; no OWL 2 RL rule says so and no query reads it, so this engine leaves it out.)

Why tables and not SPARQL: the rules ran as SPARQL updates inside Oxigraph before; a chunk's
few hundred triples meeting a fixed schema take half the time matched here, and the store then
receives facts and conclusions at once. tests/test_rl.py proves the same entailments as
`reasonable` on every fixture and as owlrl on generated schemas that use every supported
construct; tests/test_parity.py proves the coded results equal to the owlrl reference.
"""

from __future__ import annotations

from collections import defaultdict

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

TYPE = RDF.type

# OWL terms the rules below cover; anything else from the OWL vocabulary in the schema
# (functional properties, sameAs, cardinalities, keys, chains, disjointness...) is refused.
SUPPORTED = {OWL[n] for n in (
    "Class", "Restriction", "ObjectProperty", "DatatypeProperty", "AnnotationProperty", "NamedIndividual",
    "Ontology", "Thing", "SymmetricProperty", "TransitiveProperty", "onProperty", "hasValue",
    "someValuesFrom", "allValuesFrom", "intersectionOf", "unionOf", "equivalentClass",
    "equivalentProperty", "inverseOf", "versionIRI", "versionInfo", "imports", "deprecated")}

# What the tables are read from: a triple with one of these predicates (or typing a property
# symmetric or transitive) is schema. Sessions never state schema; if a chunk ever did, or a
# rule could conclude it, the tables would be out of date, so that is refused (Unsupported).
SCHEMA_PREDICATES = {RDFS.subClassOf, OWL.equivalentClass, RDFS.domain, RDFS.range, RDFS.subPropertyOf,
                     OWL.equivalentProperty, OWL.inverseOf, OWL.intersectionOf, OWL.unionOf, OWL.onProperty,
                     OWL.someValuesFrom, OWL.allValuesFrom, OWL.hasValue, RDF.first, RDF.rest}
SCHEMA_CLASSES = {OWL.SymmetricProperty, OWL.TransitiveProperty}


class Unsupported(ValueError):
    """A chunk states schema (or the schema would conclude some): these tables cannot reason over it."""


def _members(first: dict, rest: dict, head) -> list:
    out, node = [], head
    while node in first:
        out.append(first[node])
        node = rest.get(node, RDF.nil)
    return out


class Rules:
    """The OWL 2 RL instance rules with the closure's schema premises already matched."""

    def __init__(self, closure):
        # One object per term: set and dict lookups then mostly compare by identity, where
        # rdflib's own equality is a Python call (entail() maps the facts onto these objects).
        self.terms: dict = {TYPE: TYPE}
        triples = [tuple(self.terms.setdefault(t, t) for t in triple) for triple in closure]
        self.known = set(triples)
        by_subject: dict = defaultdict(lambda: defaultdict(list))
        first, rest = {}, {}
        for s, p, o in triples:
            by_subject[s][p].append(o)
            if p == RDF.first:
                first[s] = o
            elif p == RDF.rest:
                rest[s] = o

        table = lambda: defaultdict(set)  # noqa: E731
        # A new `x a C` concludes...
        self.supertypes = table()       # x a D: cax-sco, cax-eqc1, cax-eqc2, cls-int2, cls-uni
        self.values = table()           # x P v: cls-hv1 (C is P hasValue v)
        self.all_values = table()       # v a D for each x P v: cls-avf (C is P allValuesFrom D)
        self.filler_of = table()        # u a R for each u P x: cls-svf1 (R is P someValuesFrom C)
        self.intersections = table()    # x a I once x has every type of one of I's lists: cls-int1
        # A new `x P y` concludes...
        self.subject_types = table()    # x a C: prp-dom, cls-svf2 (P someValuesFrom owl:Thing)
        self.object_types = table()     # y a C: prp-rng
        self.reverse = table()          # y Q x: prp-symp, prp-inv1, prp-inv2
        self.same_way = table()         # x Q y: prp-spo1, prp-eqp1, prp-eqp2
        self.some_values = table()      # x a R when y a C: cls-svf1 (R is P someValuesFrom C)
        self.by_value = table()         # x a R when y is v: cls-hv2 (R is P hasValue v), keyed (P, v)
        self.all_values_on = table()    # y a D when x a C: cls-avf (C is P allValuesFrom D)
        self.transitive: set = set()    # x P z for y P z, w P x for w P y: prp-trp

        for s, p, o in triples:
            if p in (RDFS.subClassOf, OWL.equivalentClass):
                self.supertypes[s].add(o)
                if p == OWL.equivalentClass:
                    self.supertypes[o].add(s)
            elif p == RDFS.domain:
                self.subject_types[s].add(o)
            elif p == RDFS.range:
                self.object_types[s].add(o)
            elif p == RDFS.subPropertyOf:
                self.same_way[s].add(o)
            elif p == OWL.equivalentProperty:
                self.same_way[s].add(o)
                self.same_way[o].add(s)
            elif p == OWL.inverseOf:
                self.reverse[s].add(o)
                self.reverse[o].add(s)
            elif p == TYPE and o == OWL.SymmetricProperty:
                self.reverse[s].add(s)
            elif p == TYPE and o == OWL.TransitiveProperty:
                self.transitive.add(s)
            elif p == OWL.intersectionOf:
                members = frozenset(_members(first, rest, o))  # a class may be several intersections
                for member in members:
                    self.supertypes[s].add(member)
                    self.intersections[member].add((s, members))
            elif p == OWL.unionOf:
                for member in _members(first, rest, o):
                    self.supertypes[member].add(s)
            elif p in (OWL.someValuesFrom, OWL.allValuesFrom, OWL.hasValue):
                for prop in by_subject[s][OWL.onProperty]:
                    if p == OWL.hasValue:
                        self.values[s].add((prop, o))
                        self.by_value[(prop, o)].add(s)
                    elif p == OWL.allValuesFrom:
                        self.all_values[s].add((prop, o))
                        self.all_values_on[prop].add((s, o))
                    elif o == OWL.Thing:
                        self.subject_types[prop].add(s)
                    else:
                        self.some_values[prop].add((o, s))
                        self.filler_of[o].add((prop, s))

        # Rules with two instance premises look the other one up by subject or by object,
        # for these properties only; the closure's own triples of them are indexed once.
        self.joined = ({p for pairs in self.all_values.values() for p, _ in pairs}
                       | set(self.some_values) | self.transitive)
        self.objects_of: dict = defaultdict(set)
        self.subjects_of: dict = defaultdict(set)
        for s, p, o in triples:
            if p in self.joined:
                self.objects_of[(s, p)].add(o)
                self.subjects_of[(p, o)].add(s)

    def concluded_schema(self) -> list[str]:
        """Schema terms some rule could conclude (empty for a sound ontology): a property a
        rule asserts, or a class it types with, that is itself read as schema."""
        heads = {q for table in (self.reverse, self.same_way) for qs in table.values() for q in qs}
        heads |= {p for pairs in self.values.values() for p, _ in pairs} | self.transitive
        classes = {c for table in (self.supertypes, self.subject_types, self.object_types) for cs in table.values()
                   for c in cs}
        classes |= {c for table in (self.filler_of, self.all_values) for pairs in table.values() for _, c in pairs}
        classes |= {r for pairs in self.some_values.values() for _, r in pairs}
        classes |= {r for rs in self.by_value.values() for r in rs}
        classes |= {whole for pairs in self.intersections.values() for whole, _ in pairs}
        return sorted(str(t) for t in (heads & SCHEMA_PREDICATES) | (classes & SCHEMA_CLASSES))

    def entail(self, facts: list[tuple]) -> list[tuple]:
        """The triples OWL 2 RL adds to the closure plus `facts` (neither of those included)."""
        known, joined = self.known, self.joined
        new: set = set()
        objects_of: dict = defaultdict(set)
        subjects_of: dict = defaultdict(set)
        queue: list = []

        def add(triple):
            if triple in new or triple in known:
                return
            new.add(triple)
            queue.append(triple)
            if triple[1] in joined:
                objects_of[(triple[0], triple[1])].add(triple[2])
                subjects_of[(triple[1], triple[2])].add(triple[0])

        def objects(s, p):
            return self.objects_of.get((s, p), set()) | objects_of.get((s, p), set())

        def subjects(p, o):
            return self.subjects_of.get((p, o), set()) | subjects_of.get((p, o), set())

        terms = dict(self.terms)
        for fact in facts:
            fact = tuple([terms.setdefault(t, t) for t in fact])
            if fact[1] in SCHEMA_PREDICATES or (fact[1] is TYPE and fact[2] in SCHEMA_CLASSES):
                raise Unsupported(f"a session states schema: {fact[1]} {fact[2]}")
            add(fact)
        asserted = set(new)

        empty = ()
        i = 0
        while i < len(queue):
            x, p, y = queue[i]
            i += 1
            if p is TYPE:
                for d in self.supertypes.get(y, empty):
                    add((x, TYPE, d))
                for prop, v in self.values.get(y, empty):
                    add((x, prop, v))
                for whole, members in self.intersections.get(y, empty):
                    if all(m is y or (x, TYPE, m) in new or (x, TYPE, m) in known for m in members):
                        add((x, TYPE, whole))
                for prop, d in self.all_values.get(y, empty):
                    for v in objects(x, prop):
                        add((v, TYPE, d))
                for prop, r in self.filler_of.get(y, empty):
                    for u in subjects(prop, x):
                        add((u, TYPE, r))
            for c in self.subject_types.get(p, empty):
                add((x, TYPE, c))
            for c in self.object_types.get(p, empty):
                add((y, TYPE, c))
            for q in self.same_way.get(p, empty):
                add((x, q, y))
            for q in self.reverse.get(p, empty):
                add((y, q, x))
            for r in self.by_value.get((p, y), empty):
                add((x, TYPE, r))
            for d, r in self.some_values.get(p, empty):
                if (y, TYPE, d) in new or (y, TYPE, d) in known:
                    add((x, TYPE, r))
            for c, d in self.all_values_on.get(p, empty):
                if (x, TYPE, c) in new or (x, TYPE, c) in known:
                    add((y, TYPE, d))
            if p in self.transitive:
                for z in objects(y, p):
                    add((x, p, z))
                for w in subjects(p, x):
                    add((w, p, y))
        # Reasoning runs in generalized RDF, as owlrl does: a literal may stand as a subject
        # on the way (a symmetric property's value), and such triples are left out at the end.
        return [t for t in queue if t not in asserted and not isinstance(t[0], Literal)]


def unsupported(closure) -> list[str]:
    """The OWL terms the ontology (not the W3C vocabularies themselves) uses that these rules
    do not cover, and any schema a rule could conclude; empty when this engine is exact for it."""
    found = set()
    for s, p, o in closure:
        if isinstance(s, URIRef) and str(s).startswith("http://www.w3.org/"):
            continue
        if p == OWL.sameAs and s == o:  # owlrl states every individual the same as itself: no news
            continue
        if str(p).startswith(str(OWL)) and p not in SUPPORTED:
            found.add(str(p))
        if p == RDF.type and str(o).startswith(str(OWL)) and o not in SUPPORTED:
            found.add(str(o))
    if not found:
        found.update(Rules(closure).concluded_schema())
    return sorted(found)
