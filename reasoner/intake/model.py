"""A treatment session as Chemoden holds it once read: the resolved triples and what messages
and results need (injections as written, the claim as given), and the limits on one input."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef

from ..core.errors import InputError
from ..core.vocab import CD

# Limits on one input, far above any treatment session, so that a runaway export fails with a
# clear message instead of exhausting memory (batch work takes JSON Lines of any length).
MAX_INPUT_BYTES = 8 * 1024 * 1024
# Nesting of arrays and objects (JSON) or of brackets (Turtle): a session needs 4 or 5 levels; the
# readers recurse once per level, so a deeper input is refused before they see it
MAX_NESTING = 32
MAX_INJECTIONS = 1000
MAX_CLAIM_LINES = 200
# A sanity bound on the drug administered, not a dosing rule (doses far below it may be
# unusual; that is for the clinician and the payer): more vials than this is a typing slip.
MAX_VIALS_PER_SESSION = 100
# A claim form lists at most 12 diagnoses (A-L) and a claim line points at 4 of them at most
# (docs/sources.md#claim-diagnoses).
MAX_DIAGNOSES = 12
MAX_POINTERS = 4
MAX_PATIENT_ID = 128  # characters of an opaque patient identifier
EARLIEST_DATE = datetime.date(2000, 1, 1)  # of service; the latest is a day after today
# Bounds on the doses, sites and vials documented, far above any real session, so that a slip (a
# lot number or an NDC typed into units) is caught: not dosing rules.
MAX_DOSE_UNITS = 100_000  # product units into one target on one side, and in one vial
MAX_SITES = 100  # needle sites in one target on one side
MAX_VIALS_OPENED = 20
MAX_LOT_NUMBER = 40  # characters
LOT_NUMBER = re.compile(rf"[A-Za-z0-9-]{{1,{MAX_LOT_NUMBER}}}")  # as printed on a vial's label

# What the dose, site, lot and vial fields must be: one text for every input form (the plain JSON
# checks and resolution say the same)
DOSE_UNITS = f"a number of product units, more than 0 and at most {MAX_DOSE_UNITS:,}"
SITE_COUNT = f"a whole number of injection sites from 1 to {MAX_SITES}"
LOT_TEXT = f"a lot number of 1 to {MAX_LOT_NUMBER} letters, digits and hyphens"
VIAL_UNITS = f"the labelled units of each vial opened, more than 0 and at most {MAX_DOSE_UNITS:,}"


@dataclass
class Injection:
    iri: URIRef
    identifier: str
    written: str  # the target name as written
    target_label: str
    sides: tuple[str, ...]
    field: str  # where it came from, for messages
    quote: str | None = None  # read from a procedure note: the words it was read from
    where: str | None = None  # and their place there ("line 12, column 3")


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
    patient: str | None = None  # an opaque identifier (never a name): see pseudonymise
    date: datetime.date | None = None  # of service
    diagnoses: tuple[str, ...] = ()  # ICD-10-CM codes, normalised (upper case, dotted), in claim order (pointer 1 first)
    # the input as parsed, before names were resolved: reasoner/knowledge/shapes.py checks it against
    # ontology/shapes/session.ttl (plain: it came from plain JSON, so fields are JSON keys)
    input_graph: object = None  # an rdflib Graph (Turtle, JSON-LD) or a Facts (plain JSON)
    input_root: object = None
    plain: bool = False
    note: object = None  # the Extraction (intake/notes/) when the session was read from a procedure note
    # where in the note each fact was read (W3C Web Annotations): in the session's graph and its
    # stored asserted graph, never reasoned over (no rule reads them, and they are many)
    provenance: list = field(default_factory=list)
    _graph: Graph | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        return (f"Session({self.identifier!r}, injections={[describe(i) for i in self.injections]!r}, "
                f"profile={self.profile_name!r}, claim_lines={len(self.claim or [])})")

    @property
    def graph(self) -> Graph:
        """The resolved session as an rdflib graph, made when first asked for (the fast path
        reads `triples` and never needs it)."""
        if self._graph is None:
            self._graph = Graph()
            for triple in self.triples:
                self._graph.add(triple)
            for triple in self.provenance:
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

    def remove(self, triple) -> None:
        """Remove one triple, if it is there."""
        s, p, o = triple
        objects = self._spo.get(s, {}).get(p)
        if objects and o in objects:
            objects.remove(o)
            if not objects:
                del self._spo[s][p]
            self._list.remove(triple)

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



def pseudonymise(session: Session, key: bytes) -> None:
    """Replace the session's patient identifier by HMAC-SHA256(key, identifier) as lowercase
    hex, in the attribute, the resolved triples and the input as read, so that nothing
    downstream ever sees the identifier itself. The same key gives the same pseudonym for the
    same patient (sessions stay linkable); without the key it cannot be reversed or recomputed.
    A session read from a procedure note loses the note's Web Annotations: their quotes are the
    note's words, which hold the identifier (and whatever else the note says around each fact).
    Call it once per session, before coding: a second call hashes the pseudonym again."""
    if session.patient is None:
        return
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise ValueError("the pseudonymisation key must be non-empty bytes")
    raw = session.patient
    pseudonym = hmac.new(bytes(key), raw.encode("utf-8"), hashlib.sha256).hexdigest()
    session.patient = pseudonym
    session.provenance = []
    session.triples = [(s, p, Literal(pseudonym)) if p == CD.patientId else (s, p, o) for s, p, o in session.triples]
    session._graph = None  # made again from the triples when asked for
    graph = session.input_graph
    if graph is not None:
        for triple in [t for t in graph if t[1] == CD.patientId]:
            graph.remove(triple)
            graph.add((triple[0], CD.patientId, Literal(pseudonym)))


def describe(injection: Injection) -> str:
    """'i1 right trapezius' for explanations."""
    side = " and ".join(injection.sides)
    return f"{injection.identifier} {side + ' ' if side else ''}{injection.target_label}".strip()



def show(value, limit: int = 60) -> str:
    """A value as JSON, cut short, for messages."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_injection_count(count: int, source: str) -> None:
    """The limit on injections, checked on plain JSON before any triple is made and on every
    other input once it is parsed."""
    if count > MAX_INJECTIONS:
        raise InputError(f"{count:,} injections is more than one session can hold (at most {MAX_INJECTIONS:,})",
                         source=source, field="injections")
