"""The pipeline, start to end: read -> validate -> classify (OWL-RL) -> derive (SPARQL) -> result."""

from __future__ import annotations

from rdflib import Graph

from . import fastpath, inference, tracing, validate as shapes
from .backend import RdflibBackend
from .derive import derive
from .ontology import Ontology, load
from .result import Result
from .session import Session, read_bytes, read_document, read_path


def classify(session: Session, ontology: Ontology, engine: str = "auto") -> Graph:
    """The OWL-RL closure of the ontology plus the session's own facts."""
    graph = Graph()
    graph += ontology.graph
    graph += session.graph
    return inference.closure(graph, engine)


def validate(sessions: list[Session], ontology: Ontology | None = None) -> list[Session]:
    """Check the sessions' input against ontology/shapes/session.ttl (all of them in one pass);
    the first violation is raised as an InputError naming the field as the user wrote it."""
    error = shapes.first_error(sessions, ontology or load())
    if error is not None:
        raise error
    return sessions


PATHS = ("auto", "fast", "owlrl", "reasonable")
_FAST: dict = {}


def resolve_engine(engine: str) -> str:
    """What "auto" means here: the fast path when Oxigraph is installed, else the reference."""
    if engine == "auto":
        return "fast" if fastpath.available() else "owlrl"
    return engine


def code(session: Session, ontology: Ontology | None = None, engine: str = "auto") -> Result:
    """Code one validated session.

    engine: "owlrl" is the reference path (owlrl closure of ontology plus session, rdflib
    SPARQL); "reasonable" the same with the Rust reasoner; "fast" the cached-closure path on
    Oxigraph; "auto" is "fast" when Oxigraph is installed, else "owlrl".
    """
    ontology = ontology or load()
    engine = resolve_engine(engine)
    if engine == "fast":
        return fast_coder(ontology).code([session])[0]
    return derive(RdflibBackend(classify(session, ontology, engine)), [session], ontology)[0]


def reference_many(sessions: list[Session], ontology: Ontology | None = None, engine: str = "owlrl") -> list[Result]:
    """The reference path for many sessions at once: one owlrl closure of the ontology plus all
    the sessions (they share no individuals, so each session's entailments are those of
    ontology plus that session alone), then rdflib runs the queries for each session on the
    ontology's part of the closure plus that session's part. Used by the parity test and the
    benchmark, where one owlrl run per session would take hours."""
    ontology = ontology or load()
    graph = Graph()
    graph += ontology.graph
    for session in sessions:
        graph += session.graph
    closed = inference.closure(graph, engine)
    owner = {}
    for session in sessions:
        owner[session.iri] = session.iri
        for node in session.graph.subjects():
            owner[node] = session.iri
    common = Graph()
    parts: dict = {s.iri: Graph() for s in sessions}
    for triple in closed:
        key = owner.get(triple[0]) or owner.get(triple[2])
        (parts[key] if key is not None else common).add(triple)
    results = []
    for session in sessions:
        g = Graph()
        g += common
        g += parts[session.iri]
        results.extend(derive(RdflibBackend(g), [session], ontology))
    return results


def fast_coder(ontology: Ontology) -> "fastpath.FastCoder":
    """The process's fast coder for this ontology (built once)."""
    key = id(ontology)
    if key not in _FAST:
        _FAST[key] = fastpath.FastCoder(ontology)
    return _FAST[key]


def trace(session: Session, ontology: Ontology | None = None, engine: str = "auto") -> "tracing.Trace":
    """Code one session step by step: the asserted graph, what OWL-RL inferred, each rule's added
    and removed triples, each conflict, audit and note query's rows, and the result (tracing.py)."""
    return tracing.trace(session, ontology or load(), "auto" if engine in ("auto", "fast") else engine)


def code_file(path, ontology: Ontology | None = None, profile: str | None = None, engine: str = "auto") -> list[Result]:
    """Read, validate and code every session in a file (JSON, JSON-LD or Turtle)."""
    ontology = ontology or load()
    return [code(s, ontology, engine) for s in validate(read_path(path, ontology, profile), ontology)]


def code_json(doc: dict, ontology: Ontology | None = None, profile: str | None = None, engine: str = "auto") -> Result:
    """Code a session given as a parsed JSON object."""
    ontology = ontology or load()
    return code(validate([read_document(doc, ontology, profile=profile)], ontology)[0], ontology, engine)


def code_text(text: str | bytes, ontology: Ontology | None = None, profile: str | None = None,
              engine: str = "auto", fmt: str | None = None) -> list[Result]:
    """Code the sessions in a JSON or Turtle text."""
    ontology = ontology or load()
    return [code(s, ontology, engine) for s in validate(read_bytes(text, ontology, fmt=fmt, profile=profile), ontology)]
