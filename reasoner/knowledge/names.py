"""Resolve names as coders write them (muscles, sides, guidance, ...) to ontology IRIs.

The names themselves live in the ontology (rdfs:label, skos:altLabel,
skos:hiddenLabel, cd:name); this module only normalises and looks them up.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from rdflib import Graph, URIRef

from ..core.vocab import CD

_PUNCT = re.compile(r"[\s\-_.,;:()\[\]/]+")
_TRAILING = ("muscles", "muscle", "m")


def normalise(name: str) -> str:
    """Lower case, punctuation and hyphens as spaces, whitespace collapsed."""
    return _PUNCT.sub(" ", str(name).lower()).strip()


def _strip_trailing(words: list[str]) -> list[str]:
    while len(words) > 1 and words[-1] in _TRAILING:
        words = words[:-1]
    return words


@dataclass(frozen=True)
class Target:
    iri: URIRef
    label: str
    region: URIRef
    region_label: str
    laterality_matters: bool
    midline: bool


@dataclass(frozen=True)
class Resolution:
    """What a name resolved to: a target or an ambiguity, and any side words it carried."""

    target: Target | None
    side: URIRef | None
    candidates: tuple[str, ...] = ()
    ambiguous_label: str | None = None
    matched: str | None = None  # the normalised name that matched (side word, plural and "muscle" gone)


@dataclass(frozen=True)
class NameTrace:
    """How a written name resolves, step by step (NameIndex.explain): for people, not for coding."""

    written: str
    normalised: str
    side: str | None  # the side word peeled off, if any
    matched: str | None  # the normalised key that matched
    name: str | None  # the ontology's name behind that key, as the ontology writes it
    kind: str | None  # label | synonym | misspelling | ambiguous name
    target: str | None  # the target's label
    region: str | None  # its billing region
    candidates: tuple[str, ...] = ()  # an ambiguous name's targets
    suggestions: tuple[str, ...] = ()  # close names, when nothing matched

    def __str__(self) -> str:
        if self.target:
            how = f"the {self.kind} {self.name!r}" + (f" after the side word {self.side!r}" if self.side else "")
            return f"{self.written!r} -> {self.target} ({self.region}) through {how}"
        if self.candidates:
            return f"{self.written!r} is ambiguous ({self.name!r}): name one of {', '.join(self.candidates)}"
        return f"{self.written!r} resolves to nothing" + (
            f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else "")


_TARGETS = """
PREFIX cd: <https://w3id.org/chemoden#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?t ?label ?region ?regionLabel ?lat ?mid ?name ?kind WHERE {
  ?t cd:billingRegion ?region ; rdfs:label ?label .
  OPTIONAL { ?region rdfs:label ?regionLabel }
  OPTIONAL { ?region cd:lateralityMatters ?lat }
  OPTIONAL { ?t cd:midline ?mid }
  { ?t rdfs:label ?name BIND ("label" AS ?kind) } UNION { ?t skos:altLabel ?name BIND ("synonym" AS ?kind) }
  UNION { ?t skos:hiddenLabel ?name BIND ("misspelling" AS ?kind) }
}"""

_AMBIGUOUS = """
PREFIX cd: <https://w3id.org/chemoden#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?a ?label ?name ?candLabel WHERE {
  ?a a cd:AmbiguousName ; rdfs:label ?label ; cd:candidate ?c .
  ?c rdfs:label ?candLabel .
  { ?a rdfs:label ?name } UNION { ?a skos:altLabel ?name }
}"""

_ENUM = """
PREFIX cd: <https://w3id.org/chemoden#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?x ?name ?default WHERE {
  ?x a/rdfs:subClassOf* ?class .
  { ?x cd:name ?name } UNION { ?x rdfs:label ?name } UNION { ?x skos:altLabel ?name } UNION { ?x skos:hiddenLabel ?name }
  OPTIONAL { ?x cd:isDefault ?default }
}"""

# Enumerations a session refers to by name: field -> class.
ENUMS = {
    "side": CD.Laterality,
    "guidance": CD.GuidanceKind,
    "approach": CD.Approach,
    "setting": CD.Setting,
    "indication": CD.Indication,
    "profile": CD.PolicyProfile,
    "product": CD.Product,
}

_NOTATIONS = """
PREFIX cd: <https://w3id.org/chemoden#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?x ?n ?kind WHERE {
  ?x cd:notation ?n ; a ?kind .
  FILTER (?kind IN (cd:Modifier, cd:PrimaryCode, cd:AddOnCode, cd:SupplyCode, cd:SyringeSupplyCode))
}"""


class NameIndex:
    def __init__(self, graph: Graph):
        self.targets: dict[str, Target] = {}
        self.by_iri: dict[URIRef, Target] = {}
        self.written: dict[str, tuple[str, str]] = {}  # normalised name -> (as the ontology writes it, kind)
        for row in graph.query(_TARGETS):
            target = self.by_iri.get(row.t) or Target(
                iri=row.t, label=str(row.label), region=row.region,
                region_label=str(row.regionLabel or row.region),
                laterality_matters=bool(row.lat and row.lat.toPython()),
                midline=bool(row.mid and row.mid.toPython()),
            )
            self.by_iri[row.t] = target
            self.targets[normalise(row.name)] = target
            self.written[normalise(row.name)] = (str(row.name), str(row.kind))
        self.ambiguous: dict[str, tuple[str, list[str]]] = {}
        for row in graph.query(_AMBIGUOUS):
            label, cands = self.ambiguous.setdefault(normalise(row.name), (str(row.label), []))
            self.written[normalise(row.name)] = (str(row.name), "ambiguous name")
            if str(row.candLabel) not in cands:
                cands.append(str(row.candLabel))
        self.enums: dict[str, dict[str, URIRef]] = {}
        self.defaults: dict[str, URIRef] = {}
        self.enum_names: dict[URIRef, str] = {}
        for field, cls in ENUMS.items():
            table: dict[str, URIRef] = {}
            for row in graph.query(_ENUM, initBindings={"class": cls}):
                table[normalise(row.name)] = row.x
                if row.default is not None and row.default.toPython():
                    self.defaults[field] = row.x
            self.enums[field] = table
        for field in ENUMS:
            for x in set(self.enums[field].values()):
                name = graph.value(x, CD.name) or graph.value(x, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
                self.enum_names[x] = str(name) if name is not None else str(x)
        self._side_words = {n: iri for n, iri in self.enums["side"].items() if " " not in n}
        # Codes and modifiers by notation, for claim lines.
        self.codes: dict[str, URIRef] = {}
        self.modifiers: dict[str, URIRef] = {}
        for row in graph.query(_NOTATIONS):
            table = self.modifiers if row.kind == CD.Modifier else self.codes
            table[str(row.n).upper()] = row.x

    # -- enumerations -----------------------------------------------------------
    def enum(self, field: str, name: str) -> URIRef | None:
        return self.enums[field].get(normalise(name))

    def enum_choices(self, field: str) -> list[str]:
        return sorted({self.enum_names[x] for x in self.enums[field].values()})

    def notation(self, iri: URIRef) -> str:
        """The notation of a code or modifier IRI (64616, 50, JW)."""
        if not hasattr(self, "_notations"):
            self._notations = {v: k for table in (self.codes, self.modifiers) for k, v in table.items()}
        return self._notations.get(iri, str(iri))

    def name_of(self, iri: URIRef) -> str:
        return self.enum_names.get(iri, str(iri))

    # -- targets ----------------------------------------------------------------
    def _lookup(self, key: str) -> tuple[str, Target | tuple[str, list[str]]] | None:
        """The key that matched (the name, or it without a plural ending) and what it names."""
        for candidate in (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None):
            if not candidate:
                continue
            if candidate in self.targets:
                return candidate, self.targets[candidate]
            if candidate in self.ambiguous:
                return candidate, self.ambiguous[candidate]
        return None

    def resolve_target(self, name: str) -> Resolution | None:
        """Resolve a target name, peeling a leading or trailing side word ("left SCM")."""
        words = _strip_trailing(normalise(name).split())
        attempts: list[tuple[list[str], URIRef | None]] = [(words, None)]
        if len(words) > 1 and words[0] in self._side_words:
            attempts.append((_strip_trailing(words[1:]), self._side_words[words[0]]))
        if len(words) > 1 and words[-1] in self._side_words:
            attempts.append((_strip_trailing(words[:-1]), self._side_words[words[-1]]))
        for attempt, side in attempts:
            hit = self._lookup(" ".join(attempt))
            if hit is None:
                continue
            key, found = hit
            if isinstance(found, Target):
                return Resolution(target=found, side=side, matched=key)
            return Resolution(target=None, side=side, ambiguous_label=found[0], candidates=tuple(found[1]), matched=key)
        return None

    def explain(self, name: str) -> NameTrace:
        """How `name` resolves: the side word peeled off, the ontology name and kind (label,
        synonym, misspelling) that matched, the target and its region; or the candidates of an
        ambiguous name, or the close names when nothing matched."""
        found = self.resolve_target(name)
        if found is None:
            return NameTrace(written=name, normalised=normalise(name), side=None, matched=None, name=None, kind=None,
                             target=None, region=None, suggestions=tuple(self.suggest(name)))
        written, kind = self.written.get(found.matched, (found.matched, None))
        return NameTrace(
            written=name, normalised=normalise(name),
            side=self.name_of(found.side) if found.side is not None else None,
            matched=found.matched, name=written, kind=kind,
            target=found.target.label if found.target else None,
            region=found.target.region_label if found.target else None,
            candidates=found.candidates)

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        key = " ".join(w for w in normalise(name).split() if w not in self._side_words)
        pool = list(self.targets) + list(self.ambiguous)
        labels: list[str] = []
        for match in difflib.get_close_matches(key, pool, n=limit * 3, cutoff=0.6):
            label = self.targets[match].label if match in self.targets else self.ambiguous[match][0]
            if label not in labels:
                labels.append(label)
        return labels[:limit]
