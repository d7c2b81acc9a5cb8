"""Read a treatment session (JSON, JSON-LD or Turtle), resolve its names, validate it.

Plain JSON becomes JSON-LD through the context shipped in ontology/context.jsonld;
a document's own @context may only be inline (nothing is ever fetched).
Every problem a user can cause is an InputError naming the source, field and value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from . import ndc
from .errors import InputError
from .namespaces import CD, SESSION_BASE

SESSION_FIELDS = ("id", "setting", "approach", "guidance", "indication", "profile", "injections", "agent", "billed")
INJECTION_FIELDS = ("id", "muscle", "side")
AGENT_FIELDS = ("product", "ndc", "units_administered", "units_discarded")
BILLED_FIELDS = ("code", "units", "modifiers", "ndc")
# Descriptive fields a record may carry; read into the graph, not used for coding.
EXTRA_SESSION_FIELDS = ("date", "notes", "patient", "encounter", "provider")
# Limits on one input, far above any treatment session, so that a runaway export fails with a
# clear message instead of exhausting memory (batch work takes JSON Lines of any length).
MAX_INPUT_BYTES = 8 * 1024 * 1024
MAX_INJECTIONS = 1000
MAX_CLAIM_LINES = 200
# A sanity bound on the drug administered, not a dosing rule (doses far below it may be
# unusual; that is for the clinician and the payer): more vials than this is a typing slip.
MAX_VIALS_PER_SESSION = 100
# A well-formed code on a claim line: CPT (5 digits; 4 digits and a letter for Category II and
# III) or HCPCS Level II (a letter A-V and 4 digits). One Chemoden does not audit is kept by its
# notation (cd:billedNotation) and echoed as not audited.
WELL_FORMED_CODE = re.compile(r"[0-9]{5}|[0-9]{4}[A-Z]|[A-V][0-9]{4}")


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
    triples: list  # the session as resolved, in the cd: vocabulary
    profile: URIRef
    profile_name: str
    injections: list[Injection] = field(default_factory=list)
    claim: list[dict] | None = None  # billed lines as given, when the session carries a claim
    # the input as parsed, before names were resolved: reasoner/validate.py checks it against
    # ontology/shapes/session.ttl (plain: it came from plain JSON, so fields are JSON keys)
    input_graph: object = None  # an rdflib Graph (Turtle, JSON-LD) or a Facts (plain JSON)
    input_root: object = None
    plain: bool = False
    _graph: Graph | None = field(default=None, repr=False, compare=False)

    @property
    def graph(self) -> Graph:
        """The resolved session as an rdflib graph, made when first asked for (the fast path
        reads `triples` and never needs it)."""
        if self._graph is None:
            self._graph = Graph()
            for triple in self.triples:
                self._graph.add(triple)
        return self._graph

    def injection(self, iri) -> Injection | None:
        return next((i for i in self.injections if i.iri == iri), None)


class Facts:
    """A small set of triples with the lookups name resolution makes (objects, value,
    subjects, triples by subject): building and reading an rdflib Graph cost more than the
    rest of reading a session."""

    def __init__(self, triples=()):
        self._spo: dict = {}
        self._list: list = []
        for triple in triples:
            self.add(triple)

    def add(self, triple) -> None:
        s, p, o = triple
        objects = self._spo.setdefault(s, {}).setdefault(p, [])
        if o not in objects:
            objects.append(o)
            self._list.append(triple)

    def __iter__(self):
        return iter(self._list)

    def __len__(self) -> int:
        return len(self._list)

    def __contains__(self, triple) -> bool:
        s, p, o = triple
        if p is None and o is None:
            return s in self._spo
        return o in self._spo.get(s, {}).get(p, ())

    def objects(self, s, p):
        return iter(self._spo.get(s, {}).get(p, ()))

    def value(self, s, p):
        return next(self.objects(s, p), None)

    def subjects(self, p, o):
        seen = []
        for s, props in self._spo.items():
            if p in props and (o is None or o in props[p]):
                seen.append(s)
        return iter(seen)

    def triples(self, pattern):
        s, p, o = pattern
        if s is None or p is not None or o is not None:
            raise NotImplementedError("only triples((s, None, None))")
        return ((s, prop, obj) for prop, objs in self._spo.get(s, {}).items() for obj in objs)


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
    size = len(data) if isinstance(data, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise InputError(f"too large: {size:,} bytes (at most {MAX_INPUT_BYTES:,} in one input; "
                         "code many sessions with chemoden batch and JSON Lines)", source=source)
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
    plain = "@context" not in doc
    if plain:
        _check_plain(doc, source)
        graph = Facts(plain_triples(with_positions(doc), ontology.context))
    else:
        _refuse_remote_contexts(doc, source)
        graph = Graph()
        try:
            graph.parse(data=json.dumps(doc), format="json-ld", base=SESSION_BASE)
        except Exception as exc:  # the JSON-LD processor raises many kinds
            raise InputError(f"invalid JSON-LD: the JSON-LD processor could not read it ({exc})", source=source) from None
    if not plain:
        _check_iris(graph, source)
    sessions = _split(graph, ontology, source, profile, plain=plain)
    if len(sessions) != 1:
        raise InputError(f"expected one session in the document, found {len(sessions)}", source=source)
    return sessions[0]


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
    if "agent" in doc:
        _check_agent(doc["agent"], source)
    if "billed" in doc:
        _check_billed(doc["billed"], source)
    injections = doc.get("injections")
    if injections is None:
        raise InputError("missing: a session needs at least one injection", source=source, field="injections")
    if not isinstance(injections, list):
        raise InputError(f"must be a list of injections, found {type(injections).__name__}", source=source, field="injections")
    if not injections:
        raise InputError("empty: a session needs at least one injection", source=source, field="injections")
    _check_injection_count(len(injections), source)
    for n, inj in enumerate(injections):
        where = f"injections[{n}]"
        _check_object(inj, INJECTION_FIELDS, "an object with muscle and side", source, where)
        if "muscle" not in inj:
            raise InputError("missing: name the muscle or gland injected", source=source, field=f"{where}.muscle")
        if not isinstance(inj["muscle"], str) or not inj["muscle"].strip():
            raise InputError(f"must be a muscle name, found {inj['muscle']!r}", source=source, field=f"{where}.muscle")
        if "side" in inj and inj["side"] is not None and not isinstance(inj["side"], str):
            raise InputError(f"must be left, right or bilateral, found {inj['side']!r}", source=source, field=f"{where}.side")
        if "id" in inj and (not isinstance(inj["id"], (str, int)) or inj["id"] == ""):
            raise InputError(f"must be a non-empty text, found {inj['id']!r}", source=source, field=f"{where}.id")


def with_positions(doc: dict) -> dict:
    """The plain session with each injection's and claim line's input position recorded."""
    out = dict(doc)
    out["injections"] = [dict(inj, position=n) for n, inj in enumerate(doc["injections"])]
    if isinstance(doc.get("billed"), list):
        out["billed"] = [dict(line, position=n) for n, line in enumerate(doc["billed"])]
    return out


def plain_graph(doc: dict, context: dict) -> Graph:
    """The graph the JSON-LD processor makes of a plain session with the shipped context,
    built directly: the same triples, a fraction of the time. tests/test_session_formats.py
    checks the two agree on every fixture."""
    graph = Graph()
    for triple in plain_triples(doc, context):
        graph.add(triple)
    return graph


def plain_triples(doc: dict, context: dict) -> list[tuple]:
    """The triples of plain_graph, as a list."""
    graph: list[tuple] = []
    iris, typed = _context_terms(context)

    def iri(key: str) -> URIRef:
        term = iris.get(key)
        if term is None:
            term = iris[key] = URIRef(str(CD) + key)
        return term

    def literal(key: str, value):
        try:
            return _cached_literal(typed.get(key), type(value), value)
        except TypeError:  # not hashable: never the case for JSON scalars, but never fail on it
            return _literal(typed.get(key), value)

    def node(obj: dict) -> BNode:
        subject = BNode()
        for key, value in obj.items():
            if key.startswith("@") or value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                if item is None:
                    continue
                obj_term = node(item) if isinstance(item, dict) else literal(key, item)
                graph.append((subject, iri(key), obj_term))
        return subject

    node(doc)
    return graph


_CONTEXTS: dict = {}


@lru_cache(maxsize=4096)
def _cached_literal(datatype: str | None, kind: type, value) -> Literal:
    """Values repeat across sessions (sides, positions, common muscle names) and an rdflib
    Literal is costly to make; a small LRU keeps the frequent ones, so memory stays flat
    however many sessions pass (`kind` keeps 1, 1.0 and True apart)."""
    return _literal(datatype, value)


def _context_terms(context: dict) -> tuple[dict, dict]:
    """The context's JSON keys as cd: IRIs, and the keys typed as integers (once per context)."""
    cached = _CONTEXTS.get(id(context))
    if cached is None or cached[0] is not context:
        iris = {}
        for key, value in context.items():
            if key.startswith("@"):
                continue
            term = value["@id"] if isinstance(value, dict) else value
            iris[key] = URIRef(str(CD) + term[3:] if term.startswith("cd:") else str(CD) + term)
        typed = {k: v.get("@type") for k, v in context.items() if isinstance(v, dict) and "@type" in v}
        cached = _CONTEXTS[id(context)] = (context, iris, typed)
    return cached[1], cached[2]


def _literal(datatype: str | None, value) -> Literal:
    if datatype == "xsd:integer":
        return Literal(int(value), datatype=XSD.integer)
    if isinstance(value, bool):
        return Literal(value)
    if isinstance(value, int):
        return Literal(value, datatype=XSD.integer)
    if isinstance(value, float):
        return Literal(value, datatype=XSD.double)
    return Literal(value)


# What RFC 3987 leaves out of an IRI (rdflib only warns about these; Oxigraph refuses them)
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`]')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _check_iris(graph, source: str) -> None:
    """Every IRI of a Turtle or JSON-LD input is a well-formed IRI (by Oxigraph's parser, the
    strict one, when it is installed)."""
    try:
        from pyoxigraph import NamedNode
    except ImportError:
        NamedNode = None
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


def _check_injection_count(count: int, source: str) -> None:
    """The limit on injections, checked on plain JSON before any triple is made and on every
    other input once it is parsed."""
    if count > MAX_INJECTIONS:
        raise InputError(f"{count:,} injections is more than one session can hold (at most {MAX_INJECTIONS:,})",
                         source=source, field="injections")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_object(value, known: tuple, what: str, source: str, where: str) -> None:
    """A JSON object whose keys are all known fields."""
    if not isinstance(value, dict):
        raise InputError(f"must be {what}, found {_show(value)}", source=source, field=where)
    for key in value:
        if key not in known:
            raise InputError(f"unknown field {key!r} (known: {', '.join(known)})", source=source, field=f"{where}.{key}")


def _check_agent(agent, source: str) -> None:
    _check_object(agent, AGENT_FIELDS, "an object with product and units_administered", source, "agent")
    if not isinstance(agent.get("product"), str) or not agent["product"].strip():
        raise InputError(f"must name the product, found {_show(agent.get('product'))}", source=source, field="agent.product")
    if "ndc" in agent and not isinstance(agent["ndc"], str):
        raise InputError(f"must be text such as 0023-3921-02, found {_show(agent['ndc'])}", source=source, field="agent.ndc")
    for key in ("units_administered", "units_discarded"):
        if key in agent and not _is_number(agent[key]):
            raise InputError(f"must be a number of product units, found {_show(agent[key])}", source=source, field=f"agent.{key}")
    if "units_administered" not in agent:
        raise InputError("missing: how many product units were administered", source=source, field="agent.units_administered")


def _check_billed(billed, source: str) -> None:
    if not isinstance(billed, list):
        raise InputError(f"must be a list of claim lines, found {_show(billed)}", source=source, field="billed")
    for n, line in enumerate(billed):
        where = f"billed[{n}]"
        _check_object(line, BILLED_FIELDS, "an object with code, units and modifiers", source, where)
        if not isinstance(line.get("code"), (str, int)) or isinstance(line.get("code"), bool) or str(line.get("code")).strip() == "":
            raise InputError(f"must be a code such as 64616, found {_show(line.get('code'))}", source=source, field=f"{where}.code")
        if "units" in line and not _is_number(line["units"]):
            raise InputError(f"must be a whole number of units, found {_show(line['units'])}", source=source, field=f"{where}.units")
        mods = line.get("modifiers", [])
        for k, mod in enumerate(mods if isinstance(mods, list) else [mods]):
            if not isinstance(mod, (str, int)) or isinstance(mod, bool):
                raise InputError(f"must be a modifier such as 50 or RT, found {_show(mod)}", source=source, field=f"{where}.modifiers[{k}]")
        if "ndc" in line and not isinstance(line["ndc"], str):
            raise InputError(f"must be text, found {_show(line['ndc'])}", source=source, field=f"{where}.ndc")


# ---------------------------------------------------------------------------
# From a parsed graph to resolved sessions
# ---------------------------------------------------------------------------

def _split(graph: Graph, ontology, source: str, profile: str | None, plain: bool) -> list[Session]:
    roots = set(graph.subjects(CD.hasInjection, None)) | set(graph.subjects(RDF.type, CD.Session))
    sessions = []
    for root in sorted(roots, key=str):
        injections = list(graph.objects(root, CD.hasInjection))
        if len(roots) == 1:  # the usual case: the whole input is this session's description
            sessions.append(_resolve(graph, root, injections, ontology, source, profile, plain))
            continue
        sub = Facts()
        # the session's own description: what it reaches (injections, agent, claim lines)
        todo, seen = [root], set()
        while todo:
            node = todo.pop()
            if node in seen or (node in roots and node != root):
                continue
            seen.add(node)
            for triple in graph.triples((node, None, None)):
                sub.add(triple)
                if not isinstance(triple[2], Literal) and (triple[2], None, None) in graph:
                    todo.append(triple[2])
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
    out = Facts()
    out.add((iri, RDF.type, CD.Session))
    out.add((iri, CD.identifier, Literal(ident)))
    if not injections:
        raise InputError("no injections: a session needs at least one", source=source, field="injections")
    _check_injection_count(len(injections), source)

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
        pos = pos.toPython() if isinstance(pos, Literal) else None  # a malformed one is the shapes' to report
        return (pos if isinstance(pos, int) and not isinstance(pos, bool) else 1 << 30,
                str(graph.value(node, CD.identifier) or node))

    ordered = sorted(injections, key=order)
    explicit = {str(graph.value(n, CD.identifier)) for n in ordered if graph.value(n, CD.identifier) is not None}
    seen_ids: dict[str, str] = {}
    result: list[Injection] = []
    for n, node in enumerate(ordered):
        field = f"injection<{node}>" if isinstance(node, URIRef) and not plain else f"injections[{n}]"
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

    agents = list(graph.objects(root, CD.agent))
    if len(agents) > 1:
        raise InputError("several agents documented; give one", source=source, field="agent")
    if agents:
        _resolve_agent(graph, agents[0], iri, out, ontology, source, plain)
    billed = sorted(graph.objects(root, CD.billed), key=order)
    if len(billed) > MAX_CLAIM_LINES:
        raise InputError(f"{len(billed):,} claim lines is more than one claim can hold (at most {MAX_CLAIM_LINES:,})",
                         source=source, field="billed")
    claim = [_resolve_claim_line(graph, node, URIRef(f"{iri}/claim/{n + 1}"), n, iri, out, ontology, source, plain)
             for n, node in enumerate(billed)]

    return Session(iri=iri, identifier=str(ident), source=source, triples=list(out), profile=chosen,
                   profile_name=names.name_of(chosen), injections=result, claim=claim or None,
                   input_graph=graph, input_root=root, plain=plain)


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


def _number(graph, node, prop, source, field):
    value = graph.value(node, prop)
    if value is None:
        return None
    number = value.toPython() if isinstance(value, Literal) else value
    if isinstance(number, bool) or not isinstance(number, (int, float, Decimal)):
        raise InputError(f"must be a number, found {str(value)!r}", source=source, field=field)
    number = Decimal(str(number))
    if not number.is_finite():
        raise InputError(f"must be a finite number, found {str(value)!r}", source=source, field=field)
    return number


def _resolve_agent(graph, node, session_iri, out, ontology, source, plain) -> None:
    names = ontology.names
    onto = ontology.graph
    agent = URIRef(f"{session_iri}/agent")
    out.add((session_iri, CD.agent, agent))
    out.add((agent, RDF.type, CD.Agent))
    products = _enum(ontology, graph, node, CD.product, CD.productName, "product", source, "agent.product")
    if not products:
        raise InputError("missing: name the product (for example onabotulinumtoxinA or Botox)", source=source, field="agent.product")
    product = products[0]
    label = str(onto.value(product, RDFS.label) or names.name_of(product))
    out.add((agent, CD.product, product))

    administered = _number(graph, node, CD.unitsAdministered, source, "agent.units_administered")
    discarded = _number(graph, node, CD.unitsDiscarded, source, "agent.units_discarded")
    if administered is None:
        raise InputError("missing: how many product units were administered", source=source, field="agent.units_administered")
    if administered <= 0:
        raise InputError(f"must be more than zero, found {administered}", source=source, field="agent.units_administered")
    discarded = Decimal(0) if discarded is None else discarded
    if discarded < 0:
        raise InputError(f"cannot be negative, found {discarded}", source=source, field="agent.units_discarded")
    vials = [int(v) for v in onto.objects(product, CD.vialSize)]
    if vials and administered > MAX_VIALS_PER_SESSION * max(vials):
        raise InputError(f"{administered} units is more than {MAX_VIALS_PER_SESSION} of the largest {label} vials "
                         f"({MAX_VIALS_PER_SESSION * max(vials):,} units) in one session: check the amount",
                         source=source, field="agent.units_administered")
    if vials and discarded > max(vials):
        raise InputError(f"{discarded} units discarded is more than the largest {label} vial ({max(vials)} units)",
                         source=source, field="agent.units_discarded")
    out.add((agent, CD.unitsAdministered, Literal(administered, datatype=XSD.decimal)))
    out.add((agent, CD.unitsDiscarded, Literal(discarded, datatype=XSD.decimal)))

    texts = _text(graph, node, CD.ndcText) + _text(graph, node, CD.ndc)
    written = _one(texts, source, "agent.ndc")
    if written is None:
        return
    ndc11 = ndc.normalise(written)
    if ndc11 is None:
        raise InputError(f"malformed NDC {written!r}: write 4-4-2, 5-3-2 or 5-4-1 with hyphens, or the 11-digit form",
                         source=source, field="agent.ndc")
    owner = _ndc_owner(onto, ndc11)
    if owner is not None and owner != product:
        raise InputError(f"NDC {written!r} belongs to {onto.value(owner, RDFS.label)}, not to {label}",
                         source=source, field="agent.ndc")
    out.add((agent, CD.ndcText, Literal(written)))
    out.add((agent, CD.ndc, Literal(ndc11)))


def _ndc_owner(onto: Graph, ndc11: str):
    """The product an NDC is known to belong to: by the full code, else by its labeler."""
    for product in onto.subjects(CD.knownNdc, Literal(ndc11)):
        return product
    for product in onto.subjects(CD.labelerCode, Literal(ndc11[:5])):
        return product
    return None


def _resolve_claim_line(graph, node, line, n, session_iri, out, ontology, source, plain) -> dict:
    names = ontology.names
    where = f"billed[{n}]"
    out.add((session_iri, CD.billed, line))
    out.add((line, RDF.type, CD.ClaimLine))
    out.add((line, CD.position, Literal(n)))
    codes = list(graph.objects(node, CD.billedCode))
    written = _one([str(c) for c in codes] + _text(graph, node, CD.billedCodeText), source, f"{where}.code")
    if written is None:
        raise InputError("missing: the billed code", source=source, field=f"{where}.code")
    notation = written.strip().upper()
    code = codes[0] if codes else names.codes.get(notation)
    if codes and code not in names.codes.values():
        raise InputError(f"unknown code {written!r}: not a chemodenervation, guidance, drug or supply code "
                         "Chemoden knows", source=source, field=f"{where}.code")
    if code is None and not WELL_FORMED_CODE.fullmatch(notation):
        raise InputError(f"malformed code {written!r}: a CPT code is 5 digits, or 4 digits and a letter; "
                         "a HCPCS Level II code is a letter A-V and 4 digits", source=source, field=f"{where}.code")
    if code is not None:
        out.add((line, CD.billedCode, code))
    else:  # well formed, outside what Chemoden audits: kept by its notation, echoed as not audited
        out.add((line, CD.billedNotation, Literal(notation)))
    out.add((line, CD.billedCodeText, Literal(written)))

    units = _number(graph, node, CD.billedUnits, source, f"{where}.units")
    units = Decimal(1) if units is None else units
    if units != units.to_integral_value() or units < 1:
        raise InputError(f"must be a whole number of units, 1 or more, found {units}", source=source, field=f"{where}.units")
    out.add((line, CD.billedUnits, Literal(int(units))))

    modifiers = []
    for mod in list(graph.objects(node, CD.billedModifier)) + _text(graph, node, CD.billedModifierText):
        iri = mod if isinstance(mod, URIRef) else names.modifiers.get(str(mod).strip().upper())
        if iri is None or iri not in names.modifiers.values():
            raise InputError(f"unknown modifier {str(mod)!r} (known: {', '.join(sorted(names.modifiers))})",
                             source=source, field=f"{where}.modifiers")
        out.add((line, CD.billedModifier, iri))
        modifiers.append(next(k for k, v in names.modifiers.items() if v == iri))
    summary = {"code": next((k for k, v in names.codes.items() if v == code), notation), "units": int(units),
               "modifiers": sorted(set(modifiers))}

    written_ndc = _one(_text(graph, node, CD.ndcText) + _text(graph, node, CD.billedNdcText), source, f"{where}.ndc")
    if written_ndc is not None:
        # A malformed NDC on a claim is an audit finding (ndc-format), not an input error.
        out.add((line, CD.billedNdcText, Literal(written_ndc)))
        ndc11 = ndc.normalise(written_ndc)
        if ndc11 is not None:
            out.add((line, CD.billedNdc, Literal(ndc11)))
        summary["ndc"] = written_ndc
    return summary


def describe(injection: Injection) -> str:
    """'i1 right trapezius' for explanations."""
    side = " and ".join(injection.sides)
    return f"{injection.identifier} {side + ' ' if side else ''}{injection.target_label}".strip()

