"""The Python API: code a session given as a dict, a file or a text, on the one coding entry
(coding/entry.py), raising the first InputError as the CLI would print it."""

from __future__ import annotations

from pathlib import Path

from ..coding.entry import Coder, first_error
from ..coding.result import Result
from ..intake.files import Record, file_record
from ..intake.model import Session
from ..intake.note import Extraction, extract
from ..intake.read import read_document
from ..knowledge.ontology import Ontology, load

_CODERS: dict = {}


def coder(ontology: Ontology | str | None = None, engine: str = "auto") -> Coder:
    """A Coder for this ontology and engine, made once per process (the profile is per call)."""
    key = (id(ontology) if isinstance(ontology, Ontology) else ontology, engine)
    if key not in _CODERS:
        _CODERS[key] = Coder(ontology, engine=engine)
    return _CODERS[key]


def _with_profile(ontology, engine, profile) -> Coder:
    base = coder(ontology, engine)
    return Coder(base.ontology, engine=base.engine, profile=profile) if profile is not None else base


def code(session: Session, ontology: Ontology | None = None, engine: str = "auto") -> Result:
    """Code one session already read (read_document, read_path) and checked."""
    return coder(ontology, engine).code_sessions([session])[0]


def code_json(doc: dict, ontology: Ontology | None = None, profile: str | None = None, engine: str = "auto") -> Result:
    """Code a session given as a parsed JSON object (plain JSON or JSON-LD)."""
    c = _with_profile(ontology, engine, profile)
    session = read_document(doc, c.ontology, profile=profile)
    return first_error(c.code_read([session]))[0]


def code_file(path, ontology: Ontology | None = None, profile: str | None = None, engine: str = "auto") -> list[Result]:
    """Read, check and code every session in a file (JSON, JSON-LD or Turtle)."""
    return first_error(_with_profile(ontology, engine, profile).code([file_record(Path(path))]))


def extract_note(text: str, ontology: Ontology | None = None, source: str = "<note>") -> Extraction:
    """Read a procedure note (plain text) into a session: `.session` (the input format),
    `.spans` (field -> character spans), `.unresolved`, `.as_json()`; code it with
    code_text(text, fmt="text") or code_file("note.txt")."""
    return extract(text, (ontology or load()).lexicon, source=source)


def code_text(text: str | bytes, ontology: Ontology | None = None, profile: str | None = None,
              engine: str = "auto", fmt: str | None = None) -> list[Result]:
    """Code the sessions in a JSON or Turtle text, or a procedure note (fmt="text")."""
    return first_error(_with_profile(ontology, engine, profile).code([Record(1, "<input>", text, fmt)]))
