"""Read a treatment session (JSON, JSON-LD or Turtle), resolve its names, validate it.

Plain JSON becomes JSON-LD through the context shipped in ontology/context.jsonld;
a document's own @context may only be inline (nothing is ever fetched).
Every problem a user can cause is an InputError naming the source, field and value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from .errors import InputError
from .namespaces import CD, SESSION_BASE

SESSION_FIELDS = ("id", "setting", "approach", "guidance", "indication", "profile", "injections")
INJECTION_FIELDS = ("id", "muscle", "side")
# Fields later issues add to the session; accepted here so that their documents still read.
EXTRA_SESSION_FIELDS = ("agent", "billed", "date", "notes", "patient")


@dataclass
class Injection:
    iri: URIRef
    identifier: str
    written: str  # the target name as written
    target_label: str
    sides: tuple[str, ...]
    field: str  # where it came from, for messages


@dataclass
class Session:
    iri: URIRef
    identifier: str
    source: str
    graph: Graph
    profile: URIRef
    profile_name: str
    injections: list[Injection] = field(default_factory=list)

    def injection(self, iri) -> Injection | None:
        return next((i for i in self.injections if i.iri == iri), None)


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

def read_path(path: str | Path, ontology, profile: str | None = None) -> list[Session]:
    path = Path(path)
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", source=source) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a session file", source=source) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", source=source) from None
    fmt = {".json": "json", ".jsonld": "json", ".ttl": "turtle"}.get(path.suffix.lower())
    return read_bytes(data, ontology, source=source, fmt=fmt, profile=profile)


def read_bytes(data: bytes | str, ontology, *, source: str = "<input>", fmt: str | None = None,
               profile: str | None = None) -> list[Session]:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start})", source=source) from None
    else:
        text = data
    if not text.strip():
        raise InputError("empty input", source=source)
    if fmt is None:
        fmt = "json" if text.lstrip()[:1] in "{[" else "turtle"
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", source=source) from None
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
        raise InputError(f"expected a JSON object for a session, found {_show(doc)}", source=source)
    if "@context" in doc:
        _refuse_remote_contexts(doc, source)
        jsonld = doc
    else:
        _check_plain(doc, source)
        jsonld = dict(doc)
        jsonld["injections"] = [dict(inj, position=n) for n, inj in enumerate(doc["injections"])]
        jsonld["@context"] = ontology.context
    graph = Graph()
    try:
        graph.parse(data=json.dumps(jsonld), format="json-ld", base=SESSION_BASE)
    except InputError:
        raise
    except Exception as exc:  # the JSON-LD processor raises many kinds
        raise InputError(f"invalid JSON-LD: {exc}", source=source) from None
    sessions = _split(graph, ontology, source, profile, plain="@context" not in doc)
    if len(sessions) != 1:
        raise InputError(f"expected one session in the document, found {len(sessions)}", source=source)
    return sessions[0]


def read_turtle(text: str, ontology, *, source: str = "<input>", profile: str | None = None) -> list[Session]:
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle", publicID=SESSION_BASE)
    except Exception as exc:
        detail = " ".join(str(exc).split())
        raise InputError(f"invalid Turtle: {detail}", source=source) from None
    sessions = _split(graph, ontology, source, profile, plain=False)
    if not sessions:
        raise InputError("no session found (nothing has cd:hasInjection or is a cd:Session)", source=source)
    return sessions


# ---------------------------------------------------------------------------
# Plain JSON checks (before JSON-LD, so that messages name JSON fields)
# ---------------------------------------------------------------------------

def _show(value, limit: int = 60) -> str:
    """A value as JSON, cut short, for messages."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def _check_plain(doc: dict, source: str) -> None:
    for key in doc:
        if key not in SESSION_FIELDS + EXTRA_SESSION_FIELDS:
            raise InputError(f"unknown field {key!r} (known: {', '.join(SESSION_FIELDS)})", source=source, field=key)
    if "id" in doc and not isinstance(doc["id"], (str, int)) or doc.get("id") == "":
        raise InputError(f"must be a non-empty text, found {doc['id']!r}", source=source, field="id")
    for key in ("setting", "approach", "indication", "profile"):
        if key in doc and doc[key] is not None and not isinstance(doc[key], str):
            raise InputError(f"must be text, found {doc[key]!r}", source=source, field=key)
    guidance = doc.get("guidance")
    if guidance is not None:
        items = guidance if isinstance(guidance, list) else [guidance]
        for n, item in enumerate(items):
            if not isinstance(item, str):
                raise InputError(f"must be text, found {item!r}", source=source, field=f"guidance[{n}]")
    injections = doc.get("injections")
    if injections is None:
        raise InputError("missing: a session needs at least one injection", source=source, field="injections")
    if not isinstance(injections, list):
        raise InputError(f"must be a list of injections, found {type(injections).__name__}", source=source, field="injections")
    if not injections:
        raise InputError("empty: a session needs at least one injection", source=source, field="injections")
    for n, inj in enumerate(injections):
        where = f"injections[{n}]"
        if not isinstance(inj, dict):
            raise InputError(f"must be an object with muscle and side, found {inj!r}", source=source, field=where)
        for key in inj:
            if key not in INJECTION_FIELDS:
                raise InputError(f"unknown field {key!r} (known: {', '.join(INJECTION_FIELDS)})", source=source, field=f"{where}.{key}")
        if "muscle" not in inj:
            raise InputError("missing: name the muscle or gland injected", source=source, field=f"{where}.muscle")
        if not isinstance(inj["muscle"], str) or not inj["muscle"].strip():
            raise InputError(f"must be a muscle name, found {inj['muscle']!r}", source=source, field=f"{where}.muscle")
        if "side" in inj and inj["side"] is not None and not isinstance(inj["side"], str):
            raise InputError(f"must be left, right or bilateral, found {inj['side']!r}", source=source, field=f"{where}.side")
        if "id" in inj and (not isinstance(inj["id"], (str, int)) or inj["id"] == ""):
            raise InputError(f"must be a non-empty text, found {inj['id']!r}", source=source, field=f"{where}.id")


# ---------------------------------------------------------------------------
# From a parsed graph to resolved sessions
# ---------------------------------------------------------------------------

def _split(graph: Graph, ontology, source: str, profile: str | None, plain: bool) -> list[Session]:
    roots = set(graph.subjects(CD.hasInjection, None)) | set(graph.subjects(RDF.type, CD.Session))
    sessions = []
    for root in sorted(roots, key=str):
        sub = Graph()
        injections = list(graph.objects(root, CD.hasInjection))
        for node in [root] + injections:
            for triple in graph.triples((node, None, None)):
                sub.add(triple)
        sessions.append(_resolve(sub, root, injections, ontology, source, profile, plain))
    return sessions


def _text(graph: Graph, node, prop) -> list[str]:
    return [str(o) for o in graph.objects(node, prop)]


def _one(values: list[str], source: str, field: str) -> str | None:
    if len(values) > 1:
        raise InputError(f"has several values {sorted(values)!r}; give one", source=source, field=field)
    return values[0] if values else None


def _enum(ontology, graph, node, prop_iri, prop_name, kind, source, field, *, many=False):
    """Resolve an enumeration given either as IRIs (Turtle) or as names (JSON)."""
    names = ontology.names
    found: list[URIRef] = []
    for iri in graph.objects(node, prop_iri):
        if iri not in names.enum_names:
            raise InputError(f"unknown {kind} {str(iri)!r} (known: {', '.join(names.enum_choices(kind))})", source=source, field=field)
        found.append(iri)
    written = _text(graph, node, prop_name)
    if not many:
        _one(written + [str(f) for f in found], source, field)
    for value in written:
        iri = names.enum(kind, value)
        if iri is None:
            raise InputError(f"unknown {kind} {value!r} (known: {', '.join(names.enum_choices(kind))})", source=source, field=field)
        found.append(iri)
    return found


def _resolve(graph: Graph, root, injections, ontology, source, profile, plain) -> Session:
    names = ontology.names
    ident = _one(_text(graph, root, CD.identifier), source, "id")
    if ident is None:
        ident = str(root).rsplit("/", 1)[-1] if isinstance(root, URIRef) else Path(source).stem
    iri = root if isinstance(root, URIRef) and not plain else URIRef(SESSION_BASE + quote(str(ident), safe=""))
    out = Graph()
    out.add((iri, RDF.type, CD.Session))
    out.add((iri, CD.identifier, Literal(ident)))
    if not injections:
        raise InputError("no injections: a session needs at least one", source=source, field="injections")

    # Session-level enumerations, with the ontology's defaults.
    for prop, prop_name, kind in ((CD.approach, CD.approachName, "approach"), (CD.setting, CD.settingName, "setting")):
        values = _enum(ontology, graph, root, prop, prop_name, kind, source, kind)
        value = values[0] if values else names.defaults.get(kind)
        if value is not None:
            out.add((iri, prop, value))
    for value in set(_enum(ontology, graph, root, CD.guidance, CD.guidanceName, "guidance", source, "guidance", many=True)):
        out.add((iri, CD.guidance, value))
    for text in _text(graph, root, CD.indicationText):
        out.add((iri, CD.indicationText, Literal(text)))
        known = names.enum("indication", text)
        if known is not None:
            out.add((iri, CD.indication, known))
    for value in graph.objects(root, CD.indication):
        out.add((iri, CD.indication, value))

    if profile is not None:
        chosen = names.enum("profile", profile)
        if chosen is None:
            raise InputError(f"unknown profile {profile!r} (known: {', '.join(names.enum_choices('profile'))})", field="--profile")
    else:
        found = _enum(ontology, graph, root, CD.profile, CD.profileName, "profile", source, "profile")
        chosen = found[0] if found else names.defaults.get("profile")
    if chosen is None:
        raise InputError("no policy profile is marked as default in the ontology", source=source, field="profile")
    out.add((iri, CD.profile, chosen))

    # Injections, in input order.
    def order(node):
        pos = graph.value(node, CD.position)
        return (int(pos) if pos is not None else 1 << 30, str(graph.value(node, CD.identifier) or node))

    ordered = sorted(injections, key=order)
    explicit = {str(graph.value(n, CD.identifier)) for n in ordered if graph.value(n, CD.identifier) is not None}
    seen_ids: dict[str, str] = {}
    result: list[Injection] = []
    for n, node in enumerate(ordered):
        field = f"injections[{n}]" if plain else f"injection {node.n3() if isinstance(node, URIRef) else n}"
        given = _one(_text(graph, node, CD.identifier), source, f"{field}.id")
        if given is None and isinstance(node, URIRef) and not plain:
            given = str(node).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if given is None:
            given = f"i{n + 1}"
            if given in explicit:
                given = f"injection-{n + 1}"
        if given in seen_ids:
            raise InputError(f"duplicated injection id {given!r} (also {seen_ids[given]})", source=source, field=f"{field}.id")
        seen_ids[given] = field
        inj_iri = URIRef(f"{iri}/injection/{quote(given, safe='')}")
        result.append(_resolve_injection(graph, node, inj_iri, given, field, out, ontology, source))
        out.add((iri, CD.hasInjection, inj_iri))
        out.add((inj_iri, CD.position, Literal(n)))

    return Session(iri=iri, identifier=str(ident), source=source, graph=out, profile=chosen,
                   profile_name=names.name_of(chosen), injections=result)


def _resolve_injection(graph, node, inj_iri, ident, field, out, ontology, source) -> Injection:
    names = ontology.names
    out.add((inj_iri, RDF.type, CD.Injection))
    out.add((inj_iri, CD.identifier, Literal(ident)))
    target_iris = list(graph.objects(node, CD.muscle))
    written_names = _text(graph, node, CD.muscleName)
    _one([str(t) for t in target_iris] + written_names, source, f"{field}.muscle")
    side_from_name = None
    if target_iris:
        target = names.by_iri.get(target_iris[0])
        written = str(target_iris[0])
        if target is None:
            raise InputError(f"unknown muscle {written!r}: not a target in the ontology", source=source, field=f"{field}.muscle")
    elif written_names:
        written = written_names[0]
        resolution = names.resolve_target(written)
        if resolution is None:
            hints = names.suggest(written)
            hint = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
            raise InputError(f"unknown muscle {written!r}{hint}", source=source, field=f"{field}.muscle")
        if resolution.target is None:
            raise InputError(
                f"ambiguous muscle {written!r}: {resolution.ambiguous_label!r} may mean "
                f"{', '.join(repr(c) for c in resolution.candidates)}; name one", source=source, field=f"{field}.muscle")
        target, side_from_name = resolution.target, resolution.side
        out.add((inj_iri, CD.muscleName, Literal(written)))
    else:
        raise InputError("missing: name the muscle or gland injected", source=source, field=f"{field}.muscle")
    out.add((inj_iri, CD.muscle, target.iri))

    sides = set(_enum(ontology, graph, node, CD.side, CD.sideName, "side", source, f"{field}.side"))
    if side_from_name is not None:
        if sides and sides != {side_from_name}:
            raise InputError(
                f"contradictory sides: the name {written!r} says {names.name_of(side_from_name)} "
                f"but side says {', '.join(names.name_of(s) for s in sides)}", source=source, field=f"{field}.side")
        sides = {side_from_name}
    if not sides and target.laterality_matters and not target.midline:
        raise InputError(
            f"missing side for {written!r}: {target.region_label} codes depend on the side "
            "(give left, right or bilateral)", source=source, field=f"{field}.side")
    for side in sides:
        out.add((inj_iri, CD.side, side))
    return Injection(iri=inj_iri, identifier=ident, written=written, target_label=target.label,
                     sides=tuple(sorted(names.name_of(s) for s in sides)), field=field)


def describe(injection: Injection) -> str:
    """'i1 right trapezius' for explanations."""
    side = " and ".join(injection.sides)
    return f"{injection.identifier} {side + ' ' if side else ''}{injection.target_label}".strip()

