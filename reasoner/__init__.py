"""Chemoden: derive chemodenervation billing codes from a treatment session.

Public API (what the CLI, the server and the notebooks use):

    import reasoner
    result = reasoner.code_json({"injections": [{"muscle": "left SCM"}]})
    result.lines, result.conflicts, result.notes, result.to_json()

Besides: reasoner.Coder (the one coding entry, for many records at once), reasoner.trace (one
session step by step), reasoner.build_dataset(...).query(NAME_OR_SPARQL) (the dataset of
`chemoden query`), ontology.names.explain(NAME) (how a written name resolves),
reasoner.surfaces.codemap (the code map).

The package's layers, top to bottom (imports only go downward; tests/test_layers.py):
cli -> surfaces -> coding -> intake -> knowledge -> engines -> core.
"""

from .coding.entry import Coder, Outcome
from .coding.reference import classify
from .coding.result import Finding, Line, Result
from .coding.trace import trace
from .core.errors import ChemodenError, EngineMissing, InputError, InputErrors, OntologyError, QueryError
from .core.version import __version__
from .intake.model import Session, pseudonymise
from .intake.read import read_bytes, read_document, read_path
from .knowledge.ontology import Ontology
from .knowledge.ontology import load as load_ontology
from .surfaces.api import code, code_file, code_json, code_text, extract_note
from .surfaces.dataset import build as build_dataset

__all__ = [
    "ChemodenError", "EngineMissing", "InputError", "InputErrors", "OntologyError", "QueryError", "Ontology", "load_ontology",
    "Coder", "Outcome", "classify", "code", "code_file", "code_json", "code_text", "extract_note", "trace", "build_dataset",
    "Finding", "Line", "Result", "Session", "pseudonymise", "read_bytes", "read_document", "read_path", "__version__",
]
