"""Plain JSON sessions: their fields checked before anything else (so that messages name JSON
fields), and turned into triples directly with the shipped JSON-LD context (the same triples the
JSON-LD processor makes, a fraction of the time; tests/test_session_formats.py checks both)."""

from __future__ import annotations

from functools import lru_cache

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..core.errors import InputError
from ..core.vocab import CD
from .model import check_injection_count, show

SESSION_FIELDS = ("id", "setting", "approach", "guidance", "indication", "profile", "injections", "agent", "billed")
INJECTION_FIELDS = ("id", "muscle", "side")
AGENT_FIELDS = ("product", "ndc", "units_administered", "units_discarded")
BILLED_FIELDS = ("code", "units", "modifiers", "ndc")
# Descriptive fields a record may carry; read into the graph, not used for coding.
EXTRA_SESSION_FIELDS = ("date", "notes", "patient", "encounter", "provider")


def check_plain(doc: dict, source: str) -> None:
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
    check_injection_count(len(injections), source)
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


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_object(value, known: tuple, what: str, source: str, where: str) -> None:
    """A JSON object whose keys are all known fields."""
    if not isinstance(value, dict):
        raise InputError(f"must be {what}, found {show(value)}", source=source, field=where)
    for key in value:
        if key not in known:
            raise InputError(f"unknown field {key!r} (known: {', '.join(known)})", source=source, field=f"{where}.{key}")


def _check_agent(agent, source: str) -> None:
    _check_object(agent, AGENT_FIELDS, "an object with product and units_administered", source, "agent")
    if not isinstance(agent.get("product"), str) or not agent["product"].strip():
        raise InputError(f"must name the product, found {show(agent.get('product'))}", source=source, field="agent.product")
    if "ndc" in agent and not isinstance(agent["ndc"], str):
        raise InputError(f"must be text such as 0023-3921-02, found {show(agent['ndc'])}", source=source, field="agent.ndc")
    for key in ("units_administered", "units_discarded"):
        if key in agent and not _is_number(agent[key]):
            raise InputError(f"must be a number of product units, found {show(agent[key])}", source=source, field=f"agent.{key}")
    if "units_administered" not in agent:
        raise InputError("missing: how many product units were administered", source=source, field="agent.units_administered")


def _check_billed(billed, source: str) -> None:
    if not isinstance(billed, list):
        raise InputError(f"must be a list of claim lines, found {show(billed)}", source=source, field="billed")
    for n, line in enumerate(billed):
        where = f"billed[{n}]"
        _check_object(line, BILLED_FIELDS, "an object with code, units and modifiers", source, where)
        if not isinstance(line.get("code"), (str, int)) or isinstance(line.get("code"), bool) or str(line.get("code")).strip() == "":
            raise InputError(f"must be a code such as 64616, found {show(line.get('code'))}", source=source, field=f"{where}.code")
        if "units" in line and not _is_number(line["units"]):
            raise InputError(f"must be a whole number of units, found {show(line['units'])}", source=source, field=f"{where}.units")
        mods = line.get("modifiers", [])
        for k, mod in enumerate(mods if isinstance(mods, list) else [mods]):
            if not isinstance(mod, (str, int)) or isinstance(mod, bool):
                raise InputError(f"must be a modifier such as 50 or RT, found {show(mod)}", source=source, field=f"{where}.modifiers[{k}]")
        if "ndc" in line and not isinstance(line["ndc"], str):
            raise InputError(f"must be text, found {show(line['ndc'])}", source=source, field=f"{where}.ndc")


