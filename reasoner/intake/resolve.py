"""From a parsed input graph to resolved sessions: the names coders write resolved to the
ontology's targets, sides, products, codes and modifiers; every problem an InputError naming
the field as the user wrote it."""

from __future__ import annotations

import datetime
import re
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ..core import ndc
from ..core.errors import InputError, InputErrors
from ..core.vocab import CD, SESSION_BASE
from ..knowledge import icd10cm  # the code set is read at the first lookup: only sessions with diagnoses
from .model import (
    DOSE_UNITS,
    EARLIEST_DATE,
    LOT_NUMBER,
    LOT_TEXT,
    MAX_CLAIM_LINES,
    MAX_DIAGNOSES,
    MAX_DOSE_UNITS,
    MAX_LOT_NUMBER,
    MAX_PATIENT_ID,
    MAX_POINTERS,
    MAX_SITES,
    MAX_VIALS_OPENED,
    MAX_VIALS_PER_SESSION,
    SITE_COUNT,
    VIAL_UNITS,
    Facts,
    Injection,
    Session,
    check_injection_count,
)

# A well-formed code on a claim line: CPT (5 digits; 4 digits and a letter for Category II and
# III) or HCPCS Level II (a letter A-V and 4 digits). One Chemoden does not audit is kept by its
# notation (cd:billedNotation) and echoed as not audited.
WELL_FORMED_CODE = re.compile(r"[0-9]{5}|[0-9]{4}[A-Z]|[A-V][0-9]{4}")


class Problems:
    """The input errors of one session, gathered field by field."""

    def __init__(self):
        self.errors: list[InputError] = []

    def add(self, error: InputError) -> None:
        self.errors.extend(error.errors)

    @contextmanager
    def field(self):
        """Check one field: its InputError is kept and the next field checked."""
        try:
            yield
        except InputError as exc:
            self.add(exc)

    def at_once(self, error: InputError) -> InputError:
        """A limit past which nothing is read: what was found so far, then it."""
        return InputErrors.of(self.errors + [error])

    def raise_any(self) -> None:
        if self.errors:
            raise InputErrors.of(self.errors)


def resolve_one(graph, root, ontology, source: str, profile: str | None, plain: bool) -> Session:
    """The session whose root node is known (plain JSON: the document itself)."""
    return _resolve(graph, root, list(graph.objects(root, CD.hasInjection)), ontology, source, profile, plain)


def split(graph: Graph, ontology, source: str, profile: str | None, plain: bool) -> list[Session]:
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
    problems = Problems()
    ident = None
    with problems.field():
        ident = _one(_text(graph, root, CD.identifier), source, "id")
    if ident is None:
        ident = str(root).rsplit("/", 1)[-1] if isinstance(root, URIRef) else Path(source).stem
    iri = root if isinstance(root, URIRef) and not plain else URIRef(SESSION_BASE + quote(str(ident), safe=""))
    out = Facts()
    out.add((iri, RDF.type, CD.Session))
    out.add((iri, CD.identifier, Literal(ident)))
    if not injections:
        problems.add(InputError("no injections: a session needs at least one", source=source, field="injections"))
    try:
        check_injection_count(len(injections), source)
    except InputError as exc:
        raise problems.at_once(exc) from None

    # Session-level enumerations, with the ontology's defaults.
    for prop, prop_name, kind in ((CD.approach, CD.approachName, "approach"), (CD.setting, CD.settingName, "setting")):
        with problems.field():
            values = _enum(ontology, graph, root, prop, prop_name, kind, source, kind)
            value = values[0] if values else names.defaults.get(kind)
            if value is not None:
                out.add((iri, prop, value))
    with problems.field():
        for value in set(_enum(ontology, graph, root, CD.guidance, CD.guidanceName, "guidance", source, "guidance",
                               many=True)):
            out.add((iri, CD.guidance, value))
    for text in _text(graph, root, CD.indicationText):
        out.add((iri, CD.indicationText, Literal(text)))
        known = names.enum("indication", text)
        if known is not None:
            out.add((iri, CD.indication, known))
    for value in graph.objects(root, CD.indication):
        out.add((iri, CD.indication, value))

    chosen = None
    if profile is not None:
        chosen = names.enum("profile", profile)
        if chosen is None:
            raise problems.at_once(InputError(
                f"unknown profile {profile!r} (known: {', '.join(names.enum_choices('profile'))})", field="--profile"))
    else:
        with problems.field():
            found = _enum(ontology, graph, root, CD.profile, CD.profileName, "profile", source, "profile")
            chosen = found[0] if found else names.defaults.get("profile")
        if chosen is None and not problems.errors:
            raise InputError("no policy profile is marked as default in the ontology", source=source, field="profile")
        chosen = chosen or names.defaults.get("profile")  # an unknown one: the rest is checked as the default's
    if chosen is not None:
        out.add((iri, CD.profile, chosen))

    patient = date = None
    with problems.field():
        patient = _patient(graph, root, source)
        if patient is not None:
            out.add((iri, CD.patientId, Literal(patient)))
    with problems.field():
        date = _date(graph, root, source)
        if date is not None:
            out.add((iri, CD.dateOfService, Literal(date.isoformat(), datatype=XSD.date)))
    diagnoses = _diagnoses(graph, root, iri, out, source, problems)

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
        given = None
        with problems.field():
            given = _one(_text(graph, node, CD.identifier), source, f"{field}.id")
        if given is None and isinstance(node, URIRef) and not plain:
            given = str(node).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if given is None:
            given = f"i{n + 1}"
            if given in explicit:
                given = f"injection-{n + 1}"
        if given in seen_ids:
            problems.add(InputError(f"duplicated injection id {given!r} (also {seen_ids[given]})", source=source,
                                    field=f"{field}.id"))
        seen_ids.setdefault(given, field)
        inj_iri = URIRef(f"{iri}/injection/{quote(given, safe='')}")
        injection = _resolve_injection(graph, node, inj_iri, given, field, out, ontology, source, problems)
        if injection is not None:
            result.append(injection)
        out.add((iri, CD.hasInjection, inj_iri))
        out.add((inj_iri, CD.position, Literal(n)))

    agents = list(graph.objects(root, CD.agent))
    if len(agents) > 1:
        problems.add(InputError("several agents documented; give one", source=source, field="agent"))
    elif agents:
        _resolve_agent(graph, agents[0], iri, out, ontology, source, plain, problems)
    billed = sorted(graph.objects(root, CD.billed), key=order)
    if len(billed) > MAX_CLAIM_LINES:
        raise problems.at_once(InputError(
            f"{len(billed):,} claim lines is more than one claim can hold (at most {MAX_CLAIM_LINES:,})",
            source=source, field="billed"))
    claim = [_resolve_claim_line(graph, node, URIRef(f"{iri}/claim/{n + 1}"), n, iri, out, ontology, source, problems)
             for n, node in enumerate(billed)]
    problems.raise_any()

    return Session(iri=iri, identifier=str(ident), source=source, triples=list(out), profile=chosen,
                   profile_name=names.name_of(chosen), injections=result, claim=claim or None,
                   patient=patient, date=date, diagnoses=diagnoses,
                   input_graph=graph, input_root=root, plain=plain)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _patient(graph, root, source) -> str | None:
    """The patient identifier: opaque text (a whole number is read as its digits), 1 to
    MAX_PATIENT_ID characters. Nothing can tell an identifier from a name: the README asks for
    identifiers only, and pseudonymise() hashes it."""
    values = list(graph.objects(root, CD.patientId))
    _one([str(v) for v in values], source, "patient")
    if not values:
        return None
    value = values[0]
    python = value.toPython() if isinstance(value, Literal) else None
    if not isinstance(value, Literal) or isinstance(python, bool) or not isinstance(python, (str, int)) \
            and value.datatype not in (None, XSD.string):
        raise InputError(f"must be an identifier written as text or a whole number (never a name), found {_shown(value)}",
                         source=source, field="patient")
    text = str(value).strip()
    if not text:
        raise InputError("empty: give the patient's identifier or leave the field out", source=source, field="patient")
    if len(text) > MAX_PATIENT_ID:
        raise InputError(f"{len(text)} characters; a patient identifier is at most {MAX_PATIENT_ID} (an opaque "
                         "identifier, never a name or notes)", source=source, field="patient")
    if _CONTROL.search(text):
        raise InputError(f"must be printable text, found {_shown(value)}", source=source, field="patient")
    return text


def _date(graph, root, source) -> datetime.date | None:
    """The date of service: YYYY-MM-DD, a real calendar date, from EARLIEST_DATE up to a day
    after today (the day the session is read, on this machine's clock)."""
    values = list(graph.objects(root, CD.dateOfService))
    _one([str(v) for v in values], source, "date")
    if not values:
        return None
    value = values[0]
    text = str(value).strip()
    if not isinstance(value, Literal) or value.datatype not in (None, XSD.string, XSD.date) or not _DATE.fullmatch(text):
        raise InputError(f"must be the date of service written YYYY-MM-DD, found {_shown(value)}", source=source,
                         field="date")
    try:
        date = datetime.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text} is not a calendar date", source=source, field="date") from None
    if date < EARLIEST_DATE:
        raise InputError(f"{text} is before {EARLIEST_DATE.isoformat()}: check the year", source=source, field="date")
    if date > datetime.date.today() + datetime.timedelta(days=1):
        raise InputError(f"{text} is in the future: a date of service is at most a day after today", source=source,
                         field="date")
    return date


def _shown(value) -> str:
    """A value of the input graph as a message shows it."""
    if isinstance(value, Literal):
        return repr(str(value)) if value.datatype in (None, XSD.string) else str(value)
    return f"<{value}>" if isinstance(value, URIRef) else "a node"


def _list_items(graph, head, source) -> list:
    """The members of an RDF list, in order; an InputError when it is not a well-formed list."""
    items, seen, node = [], set(), head
    while node != RDF.nil:
        first = list(graph.objects(node, RDF.first))
        rest = list(graph.objects(node, RDF.rest))
        if len(first) != 1 or len(rest) != 1 or node in seen:
            raise InputError("must be one ordered list of ICD-10-CM codes (in JSON a list of text; in Turtle an RDF list, ( ... ))",
                             source=source, field="diagnoses")
        seen.add(node)
        items.append(first[0])
        node = rest[0]
    return items


def _diagnoses(graph, root, iri, out, source, problems) -> tuple[str, ...]:
    """The session's ICD-10-CM codes, normalised and in order: each billable in the code set,
    none twice, at most MAX_DIAGNOSES. Each bad code is its own error (diagnoses[2])."""
    heads = list(graph.objects(root, CD.diagnosisCode))
    if not heads:
        return ()
    items = None
    with problems.field():
        if len(heads) > 1 or isinstance(heads[0], Literal):
            raise InputError("must be one ordered list of ICD-10-CM codes (in JSON a list of text; in Turtle an RDF list, ( ... ))",
                             source=source, field="diagnoses")
        items = _list_items(graph, heads[0], source)
    if not items:
        return ()
    before = len(problems.errors)
    with problems.field():
        if len(items) > MAX_DIAGNOSES:
            raise InputError(f"{len(items)} diagnoses; a claim lists {MAX_DIAGNOSES} at most (A-L)", source=source,
                             field="diagnoses")
    codes: list[str] = []
    first_at: dict[str, int] = {}
    for n, item in enumerate(items):
        field = f"diagnoses[{n}]"
        with problems.field():
            if not isinstance(item, Literal) or item.datatype not in (None, XSD.string):
                raise InputError(f"must be an ICD-10-CM code written as text, found {_shown(item)}", source=source,
                                 field=field)
            code, status, hint = icd10cm.lookup(str(item))
            if status == icd10cm.MALFORMED:
                raise InputError(f"unknown ICD-10-CM code {str(item)!r}: not written as one (a letter and two "
                                 "characters, then up to four after the dot)", source=source, field=field)
            if status == icd10cm.UNKNOWN:
                raise InputError(f"unknown ICD-10-CM code {code!r}: not in the code set of {icd10cm.edition()}",
                                 source=source, field=field)
            if status == icd10cm.NOT_BILLABLE:
                such = f", such as {' or '.join(hint)}" if hint else ""
                raise InputError(f"ICD-10-CM code {code!r} is not billable: it has more specific codes under it{such}",
                                 source=source, field=field)
            if code in first_at:
                raise InputError(f"{code} is listed twice (also diagnoses[{first_at[code]}])", source=source, field=field)
            first_at[code] = n
            codes.append(code)
    if len(problems.errors) > before:
        return ()
    for n, code in enumerate(codes, start=1):
        node = URIRef(f"{iri}/diagnosis/{n}")
        out.add((iri, CD.diagnosis, node))
        out.add((node, RDF.type, CD.Diagnosis))
        out.add((node, CD.pointer, Literal(n)))
        out.add((node, CD.icd10cm, Literal(code)))
    return tuple(codes)


def _resolve_injection(graph, node, inj_iri, ident, field, out, ontology, source, problems) -> Injection | None:
    """The injection resolved, or None when its muscle or side is bad (kept in `problems`)."""
    names = ontology.names
    out.add((inj_iri, RDF.type, CD.Injection))
    out.add((inj_iri, CD.identifier, Literal(ident)))
    target, side_from_name, written = None, None, None
    with problems.field():
        target, side_from_name, written = _target(graph, node, inj_iri, field, out, names, source)
    sides = None
    with problems.field():
        sides = set(_enum(ontology, graph, node, CD.side, CD.sideName, "side", source, f"{field}.side"))
    with problems.field():
        dose = _dose(graph, node, source, f"{field}.units")
        if dose is not None:
            out.add((inj_iri, CD.doseUnits, Literal(dose, datatype=XSD.decimal)))
    with problems.field():
        sites = _sites(graph, node, source, f"{field}.sites")
        if sites is not None:
            out.add((inj_iri, CD.siteCount, Literal(sites)))
    if target is None or sides is None:
        return None
    with problems.field():
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
    return None


def _target(graph, node, inj_iri, field, out, names, source) -> tuple:
    """(target, the side its name says or None, the name as written) of one injection."""
    target_iris = list(graph.objects(node, CD.muscle))
    written_names = _text(graph, node, CD.muscleName)
    if len(target_iris) == 1 and len(written_names) == 1:  # Chemoden's own Turtle: the target and its name as written
        agreed = names.resolve_target(written_names[0])
        if agreed is not None and agreed.target is not None and agreed.target.iri == target_iris[0]:
            out.add((inj_iri, CD.muscleName, Literal(written_names[0])))
            out.add((inj_iri, CD.muscle, agreed.target.iri))
            return agreed.target, agreed.side, written_names[0]
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
    return target, side_from_name, written


def _units(value) -> Decimal | None:
    """A literal's number of product units when it is above 0 and at most MAX_DOSE_UNITS, in
    its shortest form (20.50 and 20.5 are one value, written alike whatever the input form);
    None for anything else."""
    number = value.toPython() if isinstance(value, Literal) else None
    if isinstance(number, bool) or not isinstance(number, (int, float, Decimal)):
        return None
    number = Decimal(str(number))
    if not number.is_finite() or not 0 < number <= MAX_DOSE_UNITS:
        return None
    number = number.normalize()
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def _dose(graph, node, source, field) -> Decimal | None:
    """The units injected into one target: one number above 0, at most MAX_DOSE_UNITS."""
    values = list(graph.objects(node, CD.doseUnits))
    _one([str(v) for v in values], source, field)
    if not values:
        return None
    number = _units(values[0])
    if number is None:
        raise InputError(f"must be {DOSE_UNITS}, found {_shown(values[0])}", source=source, field=field)
    return number


def _sites(graph, node, source, field) -> int | None:
    values = list(graph.objects(node, CD.siteCount))
    _one([str(v) for v in values], source, field)
    if not values:
        return None
    number = values[0].toPython() if isinstance(values[0], Literal) else None
    if not _whole(number) or not 1 <= number <= MAX_SITES:
        raise InputError(f"must be {SITE_COUNT}, found {_shown(values[0])}", source=source, field=field)
    return int(number)


def _lot(graph, node, source) -> str | None:
    """The lot number exactly as written (a number is refused: it would lose leading zeros)."""
    values = list(graph.objects(node, CD.lotNumber))
    _one([str(v) for v in values], source, "agent.lot")
    if not values:
        return None
    value = values[0]
    if not isinstance(value, Literal) or value.datatype not in (None, XSD.string) or value.language:
        raise InputError(f"must be {LOT_TEXT} written as text, found {_shown(value)}", source=source, field="agent.lot")
    if not LOT_NUMBER.fullmatch(value):
        length = f" ({len(value)} characters)" if len(value) > MAX_LOT_NUMBER else ""
        raise InputError(f"must be {LOT_TEXT}, found {_shown(value)}{length}", source=source, field="agent.lot")
    return str(value)


def _vials(graph, node, source) -> list[Decimal]:
    """The labelled units of the vials opened, one per size (RDF holds them as a set), each
    above 0 and at most MAX_DOSE_UNITS; every bad one named in one error."""
    values = sorted(graph.objects(node, CD.vialUnits), key=str)
    if len(values) > MAX_VIALS_OPENED:
        raise InputError(f"{len(values)} vials is more than one session opens (at most {MAX_VIALS_OPENED})",
                         source=source, field="agent.vial_units")
    numbers = [_units(v) for v in values]
    bad = [_shown(v) for v, n in zip(values, numbers) if n is None]
    if bad:
        raise InputError(f"must be {VIAL_UNITS}, found {', '.join(bad)}", source=source, field="agent.vial_units")
    return sorted(set(numbers))


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


def _resolve_agent(graph, node, session_iri, out, ontology, source, plain, problems) -> None:
    names = ontology.names
    onto = ontology.graph
    agent = URIRef(f"{session_iri}/agent")
    out.add((session_iri, CD.agent, agent))
    out.add((agent, RDF.type, CD.Agent))
    product = label = None
    with problems.field():
        products = _enum(ontology, graph, node, CD.product, CD.productName, "product", source, "agent.product")
        if not products:
            raise InputError("missing: name the product (for example onabotulinumtoxinA or Botox)", source=source,
                             field="agent.product")
        product = products[0]
        label = str(onto.value(product, RDFS.label) or names.name_of(product))
        out.add((agent, CD.product, product))

    # In the order they were always checked, so the first error of a session stays the same.
    administered = discarded = None
    bad_administered = bad_discarded = True
    with problems.field():
        administered = _number(graph, node, CD.unitsAdministered, source, "agent.units_administered")
        bad_administered = False
    with problems.field():
        discarded = _number(graph, node, CD.unitsDiscarded, source, "agent.units_discarded")
        bad_discarded = False
    if not bad_administered:
        with problems.field():
            bad_administered = True
            if administered is None:
                raise InputError("missing: how many product units were administered", source=source,
                                 field="agent.units_administered")
            if administered <= 0:
                raise InputError(f"must be more than zero, found {administered}", source=source,
                                 field="agent.units_administered")
            bad_administered = False
    if not bad_discarded:
        with problems.field():
            bad_discarded = True
            discarded = Decimal(0) if discarded is None else discarded
            if discarded < 0:
                raise InputError(f"cannot be negative, found {discarded}", source=source, field="agent.units_discarded")
            bad_discarded = False
    vials = [int(v) for v in onto.objects(product, CD.vialSize)] if product is not None else []
    with problems.field():
        if vials and not bad_administered and administered > MAX_VIALS_PER_SESSION * max(vials):
            raise InputError(f"{administered} units is more than {MAX_VIALS_PER_SESSION} of the largest {label} vials "
                             f"({MAX_VIALS_PER_SESSION * max(vials):,} units) in one session: check the amount",
                             source=source, field="agent.units_administered")
    with problems.field():
        if vials and not bad_discarded and discarded > max(vials):
            raise InputError(f"{discarded} units discarded is more than the largest {label} vial ({max(vials)} units)",
                             source=source, field="agent.units_discarded")
    if not bad_administered and not bad_discarded:
        out.add((agent, CD.unitsAdministered, Literal(administered, datatype=XSD.decimal)))
        out.add((agent, CD.unitsDiscarded, Literal(discarded, datatype=XSD.decimal)))

    with problems.field():
        lot = _lot(graph, node, source)
        if lot is not None:
            out.add((agent, CD.lotNumber, Literal(lot)))
    with problems.field():
        for units in _vials(graph, node, source):
            out.add((agent, CD.vialUnits, Literal(units, datatype=XSD.decimal)))

    with problems.field():
        written_texts, elevens = _text(graph, node, CD.ndcText), _text(graph, node, CD.ndc)
        # Chemoden's own Turtle gives both, the NDC as written and its 11-digit form: one value when they agree
        agree = len(written_texts) == 1 and len(elevens) == 1 and ndc.normalise(written_texts[0]) == elevens[0]
        written = _one(written_texts if agree else written_texts + elevens, source, "agent.ndc")
        if written is None:
            return
        ndc11 = ndc.normalise(written)
        if ndc11 is None:
            raise InputError(f"malformed NDC {written!r}: write 4-4-2, 5-3-2 or 5-4-1 with hyphens, or the 11-digit form",
                             source=source, field="agent.ndc")
        owner = _ndc_owner(onto, ndc11)
        if owner is not None and product is not None and owner != product:
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


def _resolve_claim_line(graph, node, line, n, session_iri, out, ontology, source, problems) -> dict | None:
    """The claim line as given ({"code", "units", "modifiers", "ndc"}), or None when a field of
    it is bad (kept in `problems`)."""
    names = ontology.names
    where = f"billed[{n}]"
    out.add((session_iri, CD.billed, line))
    out.add((line, RDF.type, CD.ClaimLine))
    out.add((line, CD.position, Literal(n)))
    before = len(problems.errors)
    code = notation = None
    with problems.field():
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

    units = None
    with problems.field():
        units = _number(graph, node, CD.billedUnits, source, f"{where}.units")
        units = Decimal(1) if units is None else units
        if units != units.to_integral_value() or units < 1:
            raise InputError(f"must be a whole number of units, 1 or more, found {units}", source=source,
                             field=f"{where}.units")
        out.add((line, CD.billedUnits, Literal(int(units))))

    modifiers = []
    with problems.field():
        for mod in list(graph.objects(node, CD.billedModifier)) + _text(graph, node, CD.billedModifierText):
            iri = mod if isinstance(mod, URIRef) else names.modifiers.get(str(mod).strip().upper())
            if iri is None or iri not in names.modifiers.values():
                raise InputError(f"unknown modifier {str(mod)!r} (known: {', '.join(sorted(names.modifiers))})",
                                 source=source, field=f"{where}.modifiers")
            out.add((line, CD.billedModifier, iri))
            modifiers.append(next(k for k, v in names.modifiers.items() if v == iri))

    written_ndc = None
    with problems.field():
        written_ndc = _one(_text(graph, node, CD.ndcText) + _text(graph, node, CD.billedNdcText), source, f"{where}.ndc")
    pointers = _pointers(graph, node, source, f"{where}.diagnosis_pointers", problems)
    if len(problems.errors) > before:
        return None
    summary = {"code": next((k for k, v in names.codes.items() if v == code), notation), "units": int(units),
               "modifiers": sorted(set(modifiers))}
    if written_ndc is not None:
        # A malformed NDC on a claim is an audit finding (ndc-format), not an input error.
        out.add((line, CD.billedNdcText, Literal(written_ndc)))
        ndc11 = ndc.normalise(written_ndc)
        if ndc11 is not None:
            out.add((line, CD.billedNdc, Literal(ndc11)))
        summary["ndc"] = written_ndc
    if pointers:
        for pointer in pointers:
            out.add((line, CD.diagnosisPointer, Literal(pointer)))
        summary["diagnosis_pointers"] = pointers
    return summary


def _pointers(graph, node, source, where, problems) -> list[int]:
    """A claim line's diagnosis pointers: 1 to MAX_POINTERS whole numbers from 1 to
    MAX_DIAGNOSES, in input order where the input keeps one (plain JSON), else in number order.
    A pointer past the session's last diagnosis is no input error: it is kept, for the audit."""
    values = list(graph.objects(node, CD.diagnosisPointer))
    if not isinstance(graph, Facts):  # an rdflib graph keeps no order: number order, then the others
        values.sort(key=lambda v: (0, v.toPython(), "") if isinstance(v, Literal) and _whole(v.toPython())
                    else (1, 0, str(v)))
    pointers = []
    for k, value in enumerate(values):
        with problems.field():
            number = value.toPython() if isinstance(value, Literal) else None
            if not _whole(number) or not 1 <= number <= MAX_DIAGNOSES:
                raise InputError(f"must be a whole number from 1 to {MAX_DIAGNOSES} (the place of a diagnosis in the "
                                 f"session's list), found {_shown(value)}", source=source, field=f"{where}[{k}]")
            pointers.append(int(number))
    with problems.field():
        if len(values) > MAX_POINTERS:
            raise InputError(f"{len(values)} pointers; a claim line points at {MAX_POINTERS} diagnoses at most",
                             source=source, field=where)
    return pointers


def _whole(number) -> bool:
    return isinstance(number, int) and not isinstance(number, bool)
