"""The fast path: the cached ontology closure, OWL-RL over each chunk's own facts, SPARQL on Oxigraph.

The reference path (pipeline.code with engine "owlrl") closes ontology plus session with owlrl
and queries with rdflib; this path must give the same results (tests/test_parity.py), only
faster: the ontology is closed once, a chunk of sessions is reasoned and queried together, and
Oxigraph runs the very same .rq files.
"""

from __future__ import annotations

from rdflib import Graph

from . import cache, inference
from .backend import OxigraphBackend
from .derive import derive
from .result import Result
from .session import Session


def available() -> bool:
    try:
        import pyoxigraph  # noqa: F401
    except ImportError:
        return False
    return True


class FastCoder:
    """Codes sessions in chunks; build one per process and reuse it."""

    def __init__(self, ontology, engine: str = "auto"):
        self.ontology = ontology
        # OWL-RL engine for the chunk step: reasonable when installed (parity-tested), else owlrl
        self.engine = inference.pick("auto" if engine in ("auto", "fast") else engine)
        self.closure = cache.closure(ontology, self.engine)
        ontology.names  # noqa: B018 - build the name index now, not inside the first chunk

    def code(self, sessions: list[Session]) -> list[Result]:
        if not sessions:
            return []
        graph = Graph()
        graph += self.closure
        for session in sessions:
            graph += session.graph
        closed = inference.closure(graph, self.engine)
        return derive(OxigraphBackend.from_triples(closed), sessions, self.ontology)
