"""Chemoden: derive chemodenervation billing codes from a treatment session.

Public API (what the CLI and the notebooks use):

    from reasoner import load_ontology, code_json, code_file
    result = code_json({"injections": [{"muscle": "left SCM"}]})
    result.lines, result.conflicts, result.notes, result.to_json()

For the notebooks, besides: reasoner.pipeline.trace (one session step by step),
reasoner.dataset.build(...).query(NAME_OR_SPARQL) (the dataset of `chemoden query`),
ontology.names.explain(NAME) (how a written name resolves), reasoner.codemap (the code map).
"""

from .errors import ChemodenError, InputError, OntologyError
from .ontology import Ontology
from .ontology import load as load_ontology
from .pipeline import classify, code, code_file, code_json, code_text
from .result import Finding, Line, Result
from .session import Session, read_bytes, read_document, read_path

__version__ = "0.1.0"

__all__ = [
    "ChemodenError", "InputError", "OntologyError", "Ontology", "load_ontology",
    "classify", "code", "code_file", "code_json", "code_text",
    "Finding", "Line", "Result", "Session", "read_bytes", "read_document", "read_path",
]
