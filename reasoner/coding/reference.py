"""The reference path: the OWL-RL closure of ontology plus session (owlrl, or the Rust reasoner),
then the rules and checks on rdflib's SPARQL. Slow and plain; the fast path must equal it
(tests/test_parity.py)."""

from __future__ import annotations

from rdflib import Graph

from ..engines import inference
from ..engines.backend import RdflibBackend
from ..intake.model import Session
from ..knowledge.ontology import Ontology
from .derive import derive
from .result import Result


def classify(session: Session, ontology: Ontology, engine: str = "auto") -> Graph:
    """The OWL-RL closure of the ontology plus the session's own facts."""
    graph = Graph()
    graph += ontology.graph
    for triple in session.triples:  # the facts; a note's provenance is not reasoned over
        graph.add(triple)
    return inference.closure(graph, engine)


def code_one(session: Session, ontology: Ontology, engine: str = "owlrl") -> Result:
    """One validated session on the reference path ("owlrl" or "reasonable" closes it)."""
    return derive(RdflibBackend(classify(session, ontology, engine)), [session], ontology)[0]


def reference_many(sessions: list[Session], ontology: Ontology, engine: str = "owlrl",
                   together: int = 16) -> list[Result]:
    """The reference path for many sessions at once: one owlrl closure of the ontology plus all
    the sessions (they share no individuals, so each session's entailments are those of the
    ontology plus that session alone), then rdflib runs the rules and checks on the ontology's
    part of the closure plus the parts of `together` sessions at a time (every rule is scoped to
    one session; rdflib's joins grow with the square of the sessions in one graph, hence the
    small groups). tests/test_parity.py checks this against `code_one` on the seed examples.
    Used by the parity test and the benchmark, where one owlrl run per session would take hours."""
    graph = Graph()
    graph += ontology.graph
    for session in sessions:
        for triple in session.triples:
            graph.add(triple)
    closed = inference.closure(graph, engine)
    owner = {}
    for session in sessions:
        owner[session.iri] = session.iri
        for node, _, _ in session.triples:
            owner[node] = session.iri
    common = Graph()
    parts: dict = {s.iri: Graph() for s in sessions}
    for triple in closed:
        key = owner.get(triple[0]) or owner.get(triple[2])
        (parts[key] if key is not None else common).add(triple)
    results = []
    for start in range(0, len(sessions), together):
        group = sessions[start:start + together]
        g = Graph()
        g += common
        for session in group:
            g += parts[session.iri]
        results.extend(derive(RdflibBackend(g), group, ontology))
    return results
