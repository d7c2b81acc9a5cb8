"""Read treatment sessions: JSON (plain or JSON-LD) or Turtle, from a file, bytes or a parsed
value. Plain JSON becomes triples through the context shipped in ontology/context.jsonld; a
document's own @context may only be inline (nothing is ever fetched). Every problem a user can
cause is an InputError naming the source, field and value."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL

from ..core.errors import InputError, InputErrors
from ..core.nesting import depth
from ..core.vocab import SESSION_BASE
from ..engines import registry
from . import note
from .files import Record, file_record
from .model import MAX_INPUT_BYTES, MAX_NESTING, Facts, Session, show
from .plain import AGENT_FIELDS, INJECTION_FIELDS, SESSION_FIELDS, check_plain, plain_triples, restates, with_positions
from .resolve import resolve_one, split


def read_path(path: str | Path, ontology, profile: str | None = None) -> list[Session]:
    return read_record(file_record(Path(path)), ontology, profile)


def read_record(record: Record, ontology, profile: str | None = None) -> list[Session]:
    """The sessions of one record (a file, a JSON Lines line, a request body)."""
    if record.error is not None:
        raise record.error
    return read_bytes(record.text, ontology, source=record.source, fmt=record.fmt, profile=profile)


def read_bytes(data: bytes | str, ontology, *, source: str = "<input>", fmt: str | None = None,
               profile: str | None = None) -> list[Session]:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    else:
        text = data
    size = len(data) if isinstance(data, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise InputError(f"too large: {size:,} bytes (at most {MAX_INPUT_BYTES:,} in one input; "
                         "code many sessions with chemoden batch and JSON Lines)", source=source)
    if not text.strip():
        raise InputError("empty input", source=source)
    if fmt is None:
        fmt = "json" if text.lstrip()[:1] in "{[" else "turtle"
    if fmt == "text":  # a procedure note
        return [read_note(text, ontology, source=source, profile=profile)]
    levels = depth(text, comments=None, quotes='"', long_strings=False) if fmt == "json" else depth(text)
    if levels > MAX_NESTING:
        raise InputError(f"nested {levels} levels deep; a session is at most {MAX_NESTING} levels of "
                         f"{'arrays and objects' if fmt == 'json' else 'brackets'}", source=source)
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", source=source) from None
        _check_unicode(doc, source)
        docs = doc if isinstance(doc, list) else [doc]
        if not docs:
            raise InputError("empty list: no session", source=source)
        sessions = []
        for n, item in enumerate(docs):
            where = f"{source}[{n}]" if isinstance(doc, list) else source
            sessions.append(read_document(item, ontology, source=where, profile=profile))
        return sessions
    return read_turtle(text, ontology, source=source, profile=profile)


def read_document(doc, ontology, *, source: str = "<input>", profile: str | None = None) -> Session:
    """One session from a parsed JSON value (plain JSON or JSON-LD)."""
    if not isinstance(doc, dict):
        raise InputError(f"expected a JSON object for a session, found {show(doc)}", source=source)
    if "@context" not in doc:
        return _read_plain(doc, ontology, source, profile)
    _refuse_remote_contexts(doc, source)
    graph = Graph()
    try:
        graph.parse(data=json.dumps(doc), format="json-ld", base=SESSION_BASE)
    except Exception as exc:  # the JSON-LD processor raises many kinds
        raise InputError(f"invalid JSON-LD: the JSON-LD processor could not read it ({exc})", source=source) from None
    _check_iris(graph, source)
    sessions = split(graph, ontology, source, profile, plain=False)
    if len(sessions) != 1:
        raise InputError(f"expected one session in the document, found {len(sessions)}", source=source)
    return sessions[0]


def _read_plain(doc: dict, ontology, source: str, profile: str | None) -> Session:
    """A plain JSON session: its fields checked, then its names resolved. The values the field
    checks refused are left out of resolution, which checks everything else, so every error of
    the session is reported at once (what resolution would only restate of a refused value is
    dropped)."""
    errors, usable = check_plain(doc, source)
    root = BNode()
    graph = Facts(plain_triples(with_positions(usable), ontology.context, root))
    try:
        session = resolve_one(graph, root, ontology, source, profile, plain=True)
    except InputError as exc:
        raise InputErrors.of(errors + [e for e in exc.errors if not restates(e.field, errors)]) from None
    if errors:
        raise InputErrors.of(errors)
    return session


def read_turtle(text: str, ontology, *, source: str = "<input>", profile: str | None = None) -> list[Session]:
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=SESSION_BASE)
    except Exception as exc:
        # rdflib's message ends with a raw dump of the bytes near the error: keep the readable part
        detail = " ".join(str(exc).split()).split(" at ^ in:")[0]
        raise InputError(f"invalid Turtle: {detail}", source=source) from None
    _check_iris(graph, source)
    imports = sorted(str(o) for o in graph.objects(None, OWL.imports))
    if imports:
        raise InputError(f"owl:imports {imports[0]!r} is not allowed in a session: nothing is fetched; "
                         "put the session's own triples in the file", source=source, field="owl:imports")
    sessions = split(graph, ontology, source, profile, plain=False)
    if not sessions:
        raise InputError("no session found (nothing has cd:hasInjection or is a cd:Session)", source=source)
    return sessions


def _check_unicode(value, source: str, path: str = "") -> None:
    """JSON's \\u escapes can spell half of a surrogate pair, which is no character: name where."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError(f"invalid Unicode: {item[exc.start]!r} (half of a surrogate pair) is no character",
                                 source=source, field=where or None) from None
        elif isinstance(item, dict):
            for key, sub in item.items():
                stack.append((key, where))
                stack.append((sub, f"{where}.{key}" if where else str(key)))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{n}]") for n, sub in enumerate(item))


def _refuse_remote_contexts(value, source: str, path: str = "") -> None:
    """A @context that is a string (a URL or a file) or uses @import would be fetched: refuse it."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                for ctx in item if isinstance(item, list) else [item]:
                    if isinstance(ctx, str):
                        raise InputError(f"remote or file @context {ctx!r} is not allowed; "
                                         "inline the context or leave it out", source=source, field=f"{path}@context")
                    if isinstance(ctx, dict) and "@import" in ctx:
                        raise InputError(f"@import {ctx['@import']!r} is not allowed", source=source, field=f"{path}@context")
            _refuse_remote_contexts(item, source, f"{path}{key}.")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _refuse_remote_contexts(item, source, f"{path}[{n}].")




_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`]')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _check_iris(graph, source: str) -> None:
    """Every IRI of a Turtle or JSON-LD input is a well-formed IRI (by Oxigraph's parser, the
    strict one, when it is installed)."""
    NamedNode = None
    if registry.has_oxigraph():
        from pyoxigraph import NamedNode
    iris = {term for triple in graph for term in triple if isinstance(term, URIRef)}
    for term in sorted(iris):  # the same one named on every run
        bad = bool(_BAD_IRI.search(term) or not _SCHEME.match(term))
        if not bad and NamedNode is not None:
            try:
                NamedNode(str(term))
            except ValueError:
                bad = True
        if bad:
            raise InputError(f"invalid IRI {str(term)!r}: not a well-formed IRI (no spaces, quotes, braces, "
                             "backslashes or < > | ^ `; brackets only around an IP address)", source=source)


def read_note(text: str, ontology, *, source: str = "<note>", profile: str | None = None):
    """The session a procedure note describes, ready to code, with each injection's quote and the
    note's spans as W3C Web Annotations; what could not be settled is an input error naming the
    line and column (all of them at once)."""
    return note_session(note.extract(text, ontology.lexicon, source=source), ontology, profile=profile)


def note_session(extraction: note.Extraction, ontology, *, profile: str | None = None):
    """The session of a note's extraction, ready to code (read_note); its unresolved items, a note
    with no injection today and the values the session refuses are input errors, all at once."""
    source = extraction.source
    errors = [InputError(note.problem(u), source=source, field=f"line {u.line}, column {u.column}")
              for u in extraction.unresolved]
    if not extraction.session["injections"]:
        errors.append(InputError("no injection given today was found in the note (targets named in a plan, a "
                                 "history, an examination or a negation are not counted)", source=source,
                                 field="injections"))
    if errors:
        raise InputErrors.of(errors)
    return to_session(extraction, ontology, profile=profile)


_INDEXED = re.compile(r"(.+)\[(\d+)\]")


def _in_note(error: InputError, extraction: note.Extraction) -> InputError:
    """An error on a field of the session a note gave, with the note's line and column the value
    was read from: the field's span, else its injection's (the sites), else where the agent is
    named (the units administered, when the reader summed the doses). An error about no value
    the note wrote (the number of injections, --profile) is left as it is."""
    spans = extraction.spans
    field = error.field or ""
    span = None
    while field and span is None:
        indexed = _INDEXED.fullmatch(field)
        if spans.get(field):
            span = spans[field][0]
        elif indexed and spans.get(indexed.group(1)):  # diagnoses[1], agent.vial_units[1]: the n-th written
            written = spans[indexed.group(1)]
            span = written[min(int(indexed.group(2)), len(written) - 1)]
        elif field == "agent" and spans.get("agent.product"):
            span = spans["agent.product"][0]
        field = field[:max(field.rfind("."), field.rfind("["), 0)]
    if span is None:
        return error
    line, column = extraction.position(span[0])
    return InputError(f"{error.message} (line {line}, column {column} of the note)", source=error.source,
                      field=error.field, status=error.status)


def note_document(extraction: note.Extraction) -> dict:
    """The plain JSON session of what a note gave (what is unresolved left out)."""
    doc = {k: v for k, v in extraction.session.items() if k in SESSION_FIELDS}
    doc["injections"] = [{k: v for k, v in i.items() if k in INJECTION_FIELDS} for i in doc["injections"]]
    if "agent" in doc:
        doc["agent"] = {k: v for k, v in doc["agent"].items() if k in AGENT_FIELDS}
    return doc


def to_session(extraction: note.Extraction, ontology, *, profile: str | None = None):
    """The session of what a note gave (what is unresolved left out), annotated with its spans."""
    source = extraction.source
    doc = note_document(extraction)
    try:
        session = read_document(doc, ontology, source=source, profile=profile)
    except InputError as exc:  # a value read that the session refuses: where the note wrote it
        raise InputErrors.of([_in_note(e, extraction) for e in exc.errors]) from None
    session.note = extraction
    for n, injection in enumerate(session.injections):
        span = extraction.spans.get(f"injections[{n}]", [None])[0]
        if span:
            injection.quote = extraction.quote(*span)
            line, column = extraction.position(span[0])
            injection.where = f"line {line}, column {column}"
    session.provenance = list(note.annotations(session, extraction))
    session._graph = None
    return session
