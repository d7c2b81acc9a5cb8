"""The pipeline, start to end: read -> validate -> classify (OWL-RL) -> derive (SPARQL) -> result."""

from __future__ import annotations

from rdflib import Graph

from . import inference
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


def code(session: Session, ontology: Ontology | None = None, engine: str = "auto") -> Result:
    """Code one validated session."""
    ontology = ontology or load()
    return derive(classify(session, ontology, engine), session, ontology)


def code_file(path, ontology: Ontology | None = None, profile: str | None = None, engine: str = "auto") -> list[Result]:
    """Read, validate and code every session in a file (JSON, JSON-LD or Turtle)."""
    ontology = ontology or load()
    return [code(s, ontology, engine) for s in read_path(path, ontology, profile)]


def code_json(doc: dict, ontology: Ontology | None = None, profile: str | None = None, engine: str = "auto") -> Result:
    """Code a session given as a parsed JSON object."""
    ontology = ontology or load()
    return code(read_document(doc, ontology, profile=profile), ontology, engine)


def code_text(text: str | bytes, ontology: Ontology | None = None, profile: str | None = None,
              engine: str = "auto", fmt: str | None = None) -> list[Result]:
    """Code the sessions in a JSON or Turtle text."""
    ontology = ontology or load()
    return [code(s, ontology, engine) for s in read_bytes(text, ontology, fmt=fmt, profile=profile)]
