"""Plain JSON sessions: their fields checked before anything else (so that messages name JSON
fields), and turned into triples directly with the shipped JSON-LD context (the same triples the
JSON-LD processor makes, a fraction of the time; tests/test_session_formats.py checks both)."""

from __future__ import annotations

import re
from functools import lru_cache

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ..core.errors import InputError, InputErrors
from ..core.vocab import CD
from .model import (
    DOSE_UNITS,
    LOT_TEXT,
    MAX_DIAGNOSES,
    MAX_POINTERS,
    MAX_VIALS_OPENED,
    SITE_COUNT,
    VIAL_UNITS,
    check_injection_count,
    show,
)

SESSION_FIELDS = ("id", "setting", "approach", "guidance", "indication", "profile", "patient", "date", "diagnoses",
                  "injections", "agent", "billed")
INJECTION_FIELDS = ("id", "muscle", "side", "units", "sites")
AGENT_FIELDS = ("product", "ndc", "units_administered", "units_discarded", "lot", "vial_units")
BILLED_FIELDS = ("code", "units", "modifiers", "ndc", "diagnosis_pointers")
# Descriptive fields a record may carry; read into the graph, not used for coding.
EXTRA_SESSION_FIELDS = ("notes", "encounter", "provider")
# What `chemoden extract --format json` adds to the session it read from a note: checked (a
# session whose note left something unresolved is not coded), then left out of the graph.
NOTE_FIELDS = ("unresolved", "provenance")
PROVENANCE_FIELDS = ("note", "characters", "spans", "not_injected", "settled_by_context")
MAX_SPANS = 10_000  # character spans in one note's provenance (a note of 8 MB gives a few hundred)
_FIELD_PATH = re.compile(r"(id|setting|approach|indication|profile|patient|date|diagnoses)|guidance\[(\d+)\]"
                         r"|agent\.(" + "|".join(AGENT_FIELDS) + r")"
                         r"|injections\[(\d+)\](?:\.(?:" + "|".join(INJECTION_FIELDS) + r"))?")


def check_plain(doc: dict, source: str) -> tuple[list[InputError], dict]:
    """Every problem of a plain session's fields, and the session without the values found bad,
    for name resolution to check the rest: a bad injection or claim line is emptied in place (so
    the others keep their index), a bad agent or session field left out. The limit on injections
    is raised at once: nothing past it is read."""
    errors: list[InputError] = []
    usable = dict(doc)

    def bad(message: str, field: str) -> None:
        errors.append(InputError(message, source=source, field=field))

    for key in doc:
        if key not in SESSION_FIELDS + EXTRA_SESSION_FIELDS + NOTE_FIELDS:
            bad(f"unknown field {key!r} (known: {', '.join(SESSION_FIELDS)})", key)
            del usable[key]
    if "unresolved" in doc:
        _check_unresolved(usable.pop("unresolved"), bad)
    if "provenance" in doc:
        _check_provenance(usable.pop("provenance"), doc, bad)
    if "id" in doc and not isinstance(doc["id"], (str, int)) or doc.get("id") == "":
        bad(f"must be a non-empty text, found {doc['id']!r}", "id")
        usable.pop("id", None)
    for key in ("setting", "approach", "indication", "profile"):
        if key in doc and doc[key] is not None and not isinstance(doc[key], str):
            bad(f"must be text, found {doc[key]!r}", key)
            usable.pop(key, None)
    if doc.get("patient") is not None and (not isinstance(doc["patient"], (str, int)) or isinstance(doc["patient"], bool)):
        bad(f"must be an identifier written as text or a whole number (never a name), found {show(doc['patient'])}",
            "patient")
        usable.pop("patient", None)
    if doc.get("date") is not None and not isinstance(doc["date"], str):
        bad(f"must be the date of service written YYYY-MM-DD, found {show(doc['date'])}", "date")
        usable.pop("date", None)
    if doc.get("diagnoses") is not None:
        diagnoses = _check_diagnoses(doc["diagnoses"], bad)
        if diagnoses is None:
            del usable["diagnoses"]
        else:
            usable["diagnoses"] = diagnoses
    guidance = doc.get("guidance")
    if guidance is not None:
        items = guidance if isinstance(guidance, list) else [guidance]
        for n, item in enumerate(items):
            if not isinstance(item, str):
                bad(f"must be text, found {item!r}", f"guidance[{n}]")
        usable["guidance"] = [item for item in items if isinstance(item, str)]
    if "agent" in doc and _check_agent(doc["agent"], bad):
        del usable["agent"]
    if "billed" in doc:
        usable["billed"] = _check_billed(doc["billed"], bad)
        if usable["billed"] is None:
            del usable["billed"]
    injections = doc.get("injections")
    if injections is None:
        bad("missing: a session needs at least one injection", "injections")
    elif not isinstance(injections, list):
        bad(f"must be a list of injections, found {type(injections).__name__}", "injections")
    elif not injections:
        bad("empty: a session needs at least one injection", "injections")
    else:
        try:
            check_injection_count(len(injections), source)
        except InputError as exc:
            raise InputErrors.of(errors + [exc]) from None
        usable["injections"] = [inj if _check_injection(inj, f"injections[{n}]", bad) else {}
                                for n, inj in enumerate(injections)]
    if not isinstance(usable.get("injections"), list):
        usable.pop("injections", None)
    return errors, usable


def _check_unresolved(items, bad) -> None:
    """The items `chemoden extract` could not settle: each one left is an error (settled, it is
    removed; a session is not coded with part of its note unread)."""
    if not isinstance(items, list):
        bad(f"must be the list of what chemoden extract could not settle in the note, found {show(items)}",
            "unresolved")
        return
    if len(items) > MAX_SPANS:
        bad(f"{len(items):,} items is more than one note leaves unresolved (at most {MAX_SPANS:,})", "unresolved")
        return
    for n, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("text"), str) and isinstance(item.get("reason"), str):
            place = (f", line {item['line']}, column {item['column']}"
                     if _is_whole(item.get("line")) and _is_whole(item.get("column")) else "")
            bad(f"not settled: {show(item['text'])} ({item['reason']}{place} of the note): settle it in the session "
                "(the target, its side or its dose) and remove it from unresolved", f"unresolved[{n}]")
        else:
            bad("must be an item chemoden extract could not settle, an object with text and reason, found "
                f"{show(item)}", f"unresolved[{n}]")


def _check_provenance(value, doc: dict, bad) -> None:
    """The note's provenance as `chemoden extract` writes it: the note's name, its length in
    characters, the spans each field was read from ([start, end] offsets inside the note, for
    fields the session has) and the targets named but not injected or settled by context."""
    known = _check_object(value, PROVENANCE_FIELDS, "an object, the provenance chemoden extract writes of a note "
                          f"({', '.join(PROVENANCE_FIELDS)})", "provenance", bad)
    if known is None:
        return
    note = value.get("note")
    if note is not None and (not isinstance(note, str) or not note.strip()):
        bad(f"must be the note's file name or path written as text, found {show(note)}", "provenance.note")
    length = value.get("characters")
    if length is not None and not (_is_whole(length) and length >= 0):
        bad(f"must be the note's length, a whole number of characters, 0 or more, found {show(length)}",
            "provenance.characters")
    length = length if _is_whole(length) and length >= 0 else None
    spans = value.get("spans")
    if spans is not None:
        if not isinstance(spans, dict):
            bad(f"must be an object: for each field, the [start, end] character offsets of the note it was read "
                f"from, found {show(spans)}", "provenance.spans")
        elif len(spans) + sum(len(v) for v in spans.values() if isinstance(v, list)) > MAX_SPANS:
            bad(f"more spans than one note's provenance holds (at most {MAX_SPANS:,})", "provenance.spans")
        else:
            for key, written in spans.items():
                where = f"provenance.spans[{show(key)}]"
                if not _names_field(key, doc):
                    bad(f"names no field of the session, found {show(key)}", where)
                elif not isinstance(written, list) or not written:
                    bad(f"must be a list of [start, end] character offsets of the note, found {show(written)}", where)
                else:
                    for n, span in enumerate(written):
                        _check_span(span, length, f"{where}[{n}]", bad)
    for key in ("not_injected", "settled_by_context"):
        items = value.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or len(items) > MAX_SPANS:
            what = "named but did not count" if key == "not_injected" else "settled by the targets listed with them"
            bad(f"must be a list of the targets chemoden extract {what}, found {show(items)}", f"provenance.{key}")
            continue
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                bad(f"must be an object with the text and its span, found {show(item)}", f"provenance.{key}[{n}]")
            elif "span" in item:
                _check_span(item["span"], length, f"provenance.{key}[{n}].span", bad)


def _names_field(key, doc: dict) -> bool:
    """Whether a provenance key is a field of a session, and its injection or guidance is one of
    this session's: injections[2].units with a third injection, guidance[0] with a guidance. (A
    vial's size read where no agent was is kept: extract records the span of what it read.)"""
    match = _FIELD_PATH.fullmatch(key) if isinstance(key, str) else None
    if match is None:
        return False
    guidance, injection = match.group(2), match.group(4)
    if guidance is not None:
        given = doc.get("guidance")
        count = len(given) if isinstance(given, list) else int(given is not None)  # one guidance as text
        return int(guidance) < count
    if injection is not None:
        return isinstance(doc.get("injections"), list) and int(injection) < len(doc["injections"])
    return True


def _check_span(span, length: int | None, where: str, bad) -> None:
    """[start, end]: whole numbers, 0 <= start < end <= the note's length (when it is given)."""
    if not (isinstance(span, list) and len(span) == 2 and all(_is_whole(n) for n in span)
            and 0 <= span[0] < span[1] and (length is None or span[1] <= length)):
        within = f"0 <= start < end <= {length:,} (the note's characters)" if length is not None else "0 <= start < end"
        bad(f"must be [start, end], character offsets of the note with {within}, found {show(span)}", where)


def _check_injection(inj, where: str, bad) -> bool:
    """True when the injection's fields are well formed (each problem given to `bad`)."""
    note, found = _counted(bad)
    unknown = _check_object(inj, INJECTION_FIELDS, "an object with muscle and side", where, note)
    if unknown is None:
        return False
    if "muscle" not in inj:
        if not unknown:  # else a misspelt key is the likelier story, and already told
            note("missing: name the muscle or gland injected", f"{where}.muscle")
    elif not isinstance(inj["muscle"], str) or not inj["muscle"].strip():
        note(f"must be a muscle name, found {inj['muscle']!r}", f"{where}.muscle")
    if "side" in inj and inj["side"] is not None and not isinstance(inj["side"], str):
        note(f"must be left, right or bilateral, found {inj['side']!r}", f"{where}.side")
    if "id" in inj and (not isinstance(inj["id"], (str, int)) or inj["id"] == ""):
        note(f"must be a non-empty text, found {inj['id']!r}", f"{where}.id")
    # the kind of value only: resolution checks the bounds in every input form
    if inj.get("units") is not None and not _is_number(inj["units"]):
        note(f"must be {DOSE_UNITS}, found {show(inj['units'])}", f"{where}.units")
    if inj.get("sites") is not None and not _is_whole(inj["sites"]):
        note(f"must be {SITE_COUNT}, found {show(inj['sites'])}", f"{where}.sites")
    return not found


def restates(field: str | None, reported: list[InputError]) -> bool:
    """Whether an error on `field` found by name resolution only restates one check_plain
    reported: the same field, or a field of an injection, claim line or agent already found
    bad (it was emptied or left out)."""
    if field is None:
        return False
    for error in reported:
        scope = _object_of(error.field)
        if scope is not None and _within(field, scope):
            return True
    return False


def _object_of(field: str | None) -> str | None:
    """The injection, claim line or agent a field belongs to (injections[2], billed[0], agent),
    else the field itself."""
    if field is None:
        return None
    for prefix in ("injections[", "billed["):
        if field.startswith(prefix) and "]" in field:
            return field[: field.index("]") + 1]
    if field == "agent" or field.startswith("agent."):
        return "agent"
    return field


def _within(field: str, scope: str) -> bool:
    return field == scope or field.startswith(scope + ".") or field.startswith(scope + "[")


def with_positions(doc: dict) -> dict:
    """The plain session with each injection's and claim line's input position recorded."""
    out = dict(doc)
    if isinstance(doc.get("injections"), list):
        out["injections"] = [dict(inj, position=n) if isinstance(inj, dict) else inj
                             for n, inj in enumerate(doc["injections"])]
    if isinstance(doc.get("billed"), list):
        out["billed"] = [dict(line, position=n) if isinstance(line, dict) else line
                         for n, line in enumerate(doc["billed"])]
    return out


def plain_graph(doc: dict, context: dict) -> Graph:
    """The graph the JSON-LD processor makes of a plain session with the shipped context,
    built directly: the same triples, a fraction of the time. tests/test_session_formats.py
    checks the two agree on every fixture."""
    graph = Graph()
    for triple in plain_triples(doc, context):
        graph.add(triple)
    return graph


def plain_triples(doc: dict, context: dict, root: BNode | None = None) -> list[tuple]:
    """The triples of plain_graph, as a list (the session's node `root` when given)."""
    graph: list[tuple] = []

    def iri(key: str, terms) -> URIRef:
        iris = terms[0]
        term = iris.get(key)
        if term is None:
            term = iris[key] = URIRef(str(CD) + key)
        return term

    def literal(key: str, value, terms):
        typed = terms[1]
        try:
            return _cached_literal(typed.get(key), type(value), value)
        except TypeError:  # not hashable: never the case for JSON scalars, but never fail on it
            return _literal(typed.get(key), value)

    def term(key: str, item, terms):
        if isinstance(item, dict):
            return node(item, None, terms)
        if isinstance(item, list):  # a list inside a list: a list of its own, as JSON-LD 1.1 reads it
            return collection(key, item, terms)
        return literal(key, item, terms)

    def collection(key: str, items: list, terms):
        """An rdf:List of the items, in order (nulls left out, as the JSON-LD processor does)."""
        items = [item for item in items if item is not None]
        head = rest = RDF.nil
        for item in reversed(items):
            cell = BNode()
            graph.append((cell, RDF.first, term(key, item, terms)))
            graph.append((cell, RDF.rest, rest))
            head = rest = cell
        return head

    def node(obj: dict, subject: BNode | None, terms) -> BNode:
        subject = subject if subject is not None else BNode()
        lists, scoped = terms[2], terms[3]
        for key, value in obj.items():
            if key.startswith("@") or value is None:
                continue
            if key in lists:  # "@container": "@list": one ordered list, whatever the value
                graph.append((subject, iri(key, terms), collection(key, value if isinstance(value, list) else [value],
                                                                   terms)))
                continue
            # a term with a context of its own (JSON-LD 1.1 property-scoped): the nodes under it read by that one
            inner = scoped.get(key, terms)
            for item in value if isinstance(value, list) else [value]:
                if item is None:
                    continue
                obj_term = node(item, None, inner) if isinstance(item, dict) else literal(key, item, terms)
                graph.append((subject, iri(key, terms), obj_term))
        return subject

    node(doc, root, _context_terms(context))
    return graph


_CONTEXTS: dict = {}


@lru_cache(maxsize=4096)
def _cached_literal(datatype: str | None, kind: type, value) -> Literal:
    """Values repeat across sessions (sides, positions, common muscle names) and an rdflib
    Literal is costly to make; a small LRU keeps the frequent ones, so memory stays flat
    however many sessions pass (`kind` keeps 1, 1.0 and True apart)."""
    return _literal(datatype, value)


def _context_terms(context: dict) -> tuple[dict, dict, frozenset, dict]:
    """The context's JSON keys as cd: IRIs, the keys typed as integers, the keys whose values
    are ordered lists, and for each key with a context of its own the same four read through
    it (once per context)."""
    cached = _CONTEXTS.get(id(context))
    if cached is None or cached[0] is not context:
        cached = _CONTEXTS[id(context)] = (context, _terms(context))
    return cached[1]


def _terms(context: dict) -> tuple[dict, dict, frozenset, dict]:
    iris = {}
    for key, value in context.items():
        if key.startswith("@"):
            continue
        term = value["@id"] if isinstance(value, dict) else value
        iris[key] = URIRef(str(CD) + term[3:] if term.startswith("cd:") else str(CD) + term)
    typed = {k: v.get("@type") for k, v in context.items() if isinstance(v, dict) and "@type" in v}
    lists = frozenset(k for k, v in context.items() if isinstance(v, dict) and v.get("@container") == "@list")
    scoped: dict = {}
    terms = (iris, typed, lists, scoped)
    for key, value in context.items():
        inner = value.get("@context") if isinstance(value, dict) else None
        if isinstance(inner, dict):
            # a scoped context refines the one around it (JSON-LD 1.1: its terms replace those of
            # the same name); once applied, applying it again changes nothing
            applied = all(context.get(k) == v for k, v in inner.items())
            scoped[key] = terms if applied else _terms({**context, **inner})
    return terms


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


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_object(value, known: tuple, what: str, where: str, bad) -> list | None:
    """The unknown keys of `value` (each given to `bad`), or None when it is no JSON object."""
    if not isinstance(value, dict):
        bad(f"must be {what}, found {show(value)}", where)
        return None
    unknown = [key for key in value if key not in known]
    for key in unknown:
        bad(f"unknown field {key!r} (known: {', '.join(known)})", f"{where}.{key}")
    return unknown


def _counted(bad):
    """`bad`, counting the problems it is given: (the wrapper, a list holding their fields)."""
    found: list[str] = []

    def note(message: str, field: str) -> None:
        found.append(field)
        bad(message, field)

    return note, found


def _check_diagnoses(diagnoses, bad) -> list | None:
    """The codes with each that is not text replaced by its JSON text (so that the others keep
    their index; resolution's message on it restates this one and is dropped); None when
    `diagnoses` is neither a list nor one code."""
    if isinstance(diagnoses, str):
        return [diagnoses]
    if not isinstance(diagnoses, list):
        bad(f"must be a list of ICD-10-CM codes, each written as text, found {show(diagnoses)}", "diagnoses")
        return None
    usable = []
    for n, code in enumerate(diagnoses):
        if not isinstance(code, str):
            bad(f"must be an ICD-10-CM code written as text, found {show(code)}", f"diagnoses[{n}]")
            code = show(code)
        usable.append(code)
    return usable


def _check_agent(agent, bad) -> bool:
    """True when the agent has a problem (each given to `bad`)."""
    note, found = _counted(bad)
    unknown = _check_object(agent, AGENT_FIELDS, "an object with product and units_administered", "agent", note)
    if unknown is None:
        return True
    if "product" in agent or not unknown:  # a missing one after a misspelt key: already told
        if not isinstance(agent.get("product"), str) or not agent["product"].strip():
            note(f"must name the product, found {show(agent.get('product'))}", "agent.product")
    if "ndc" in agent and not isinstance(agent["ndc"], str):
        note(f"must be text such as 0023-3921-02, found {show(agent['ndc'])}", "agent.ndc")
    for key in ("units_administered", "units_discarded"):
        if key in agent and not _is_number(agent[key]):
            note(f"must be a number of product units, found {show(agent[key])}", f"agent.{key}")
    if "units_administered" not in agent and not unknown:
        note("missing: how many product units were administered", "agent.units_administered")
    if agent.get("lot") is not None and not isinstance(agent["lot"], str):
        note(f"must be {LOT_TEXT} written as text, found {show(agent['lot'])}", "agent.lot")
    if agent.get("vial_units") is not None:
        _check_vials(agent["vial_units"], note)
    return bool(found)


def _check_vials(vials, note) -> None:
    """The kind of each vial's units, where the list still has its order and its repeats (two
    vials of one size are one value once in RDF); resolution checks the bounds."""
    items = vials if isinstance(vials, list) else [vials]
    for k, units in enumerate(items):
        if not _is_number(units):
            where = f"agent.vial_units[{k}]" if isinstance(vials, list) else "agent.vial_units"
            note(f"must be {VIAL_UNITS}, found {show(units)}", where)
    if len(items) > MAX_VIALS_OPENED:
        note(f"{len(items)} vials is more than one session opens (at most {MAX_VIALS_OPENED})", "agent.vial_units")


def _check_billed(billed, bad) -> list | None:
    """The claim lines with each bad one emptied in place (each problem given to `bad`); None
    when `billed` is not a list."""
    if not isinstance(billed, list):
        bad(f"must be a list of claim lines, found {show(billed)}", "billed")
        return None
    usable = []
    for n, line in enumerate(billed):
        where = f"billed[{n}]"
        note, found = _counted(bad)
        usable.append(line if _check_claim_line(line, where, note) and not found else {})
    return usable


def _check_claim_line(line, where: str, note) -> bool:
    unknown = _check_object(line, BILLED_FIELDS, "an object with code, units and modifiers", where, note)
    if unknown is None:
        return False
    code = line.get("code")
    if ("code" in line or not unknown) and (not isinstance(code, (str, int)) or isinstance(code, bool)
                                            or str(code).strip() == ""):
        note(f"must be a code such as 64616, found {show(line.get('code'))}", f"{where}.code")
    if "units" in line and not _is_number(line["units"]):
        note(f"must be a whole number of units, found {show(line['units'])}", f"{where}.units")
    mods = line.get("modifiers", [])
    for k, mod in enumerate(mods if isinstance(mods, list) else [mods]):
        if not isinstance(mod, (str, int)) or isinstance(mod, bool):
            note(f"must be a modifier such as 50 or RT, found {show(mod)}", f"{where}.modifiers[{k}]")
    if "ndc" in line and not isinstance(line["ndc"], str):
        note(f"must be text, found {show(line['ndc'])}", f"{where}.ndc")
    if line.get("diagnosis_pointers") is not None:
        _check_pointers(line["diagnosis_pointers"], f"{where}.diagnosis_pointers", note)
    return True


def _check_pointers(pointers, where: str, note) -> None:
    """A claim line's diagnosis pointers: 1 to 4 whole numbers from 1 to MAX_DIAGNOSES (one
    number alone is one pointer; an empty list is none, as in the JSON-LD reading)."""
    items = pointers if isinstance(pointers, list) else [pointers]
    for k, pointer in enumerate(items):
        if not isinstance(pointer, int) or isinstance(pointer, bool) or not 1 <= pointer <= MAX_DIAGNOSES:
            note(f"must be a whole number from 1 to {MAX_DIAGNOSES} (the place of a diagnosis in the session's "
                 f"list), found {show(pointer)}", f"{where}[{k}]")
    if len(items) > MAX_POINTERS:
        note(f"{len(items)} pointers; a claim line points at {MAX_POINTERS} diagnoses at most", where)
