"""The words a procedure note is read with, gathered from the ontology: the targets' names
(labels, synonyms, misspellings, ambiguous names), sides, guidance, approaches, settings,
products and indications, and the note cues of ontology/reading.ttl (section headings, context
triggers, terminators, field cues). intake/notes/ reads notes with it; nothing here knows a
muscle or a code."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from ..core.vocab import CD
from .names import NameIndex, Target, normalise

MAX_PHRASE_WORDS = 8

@dataclass(frozen=True)
class Entry:
    """What a phrase of a note may name. kind: target, ambiguous, side, guidance, approach,
    setting, product, indication, trigger, terminator, pseudo, field, heading."""

    kind: str
    value: object = None  # a Target, an enumeration IRI, a field name, a context IRI
    label: str = ""
    candidates: tuple[str, ...] = ()
    direction: str = ""  # triggers: forward, backward, both
    excludes: bool = False  # triggers and headings: the context puts a target out of today


@dataclass
class Lexicon:
    names: NameIndex
    phrases: dict[str, list[Entry]] = field(default_factory=dict)  # normalised phrase -> entries
    capitals: set[str] = field(default_factory=set)  # phrases that match only when written in capitals
    headings: dict[str, Entry] = field(default_factory=dict)  # normalised heading phrase -> entry
    procedure_headings: set[str] = field(default_factory=set)
    # the field cues' phrases by their cd:cueField ("sites", "lot", "units_discarded", ...), as written
    # in the ontology, sorted: the reader builds its patterns for counts, lots, dates and such from them
    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    longest: int = 1
    prefixes: set[str] = field(default_factory=set)  # every phrase's leading words: where a match may go on
    glands: set = field(default_factory=set)  # the IRIs of the targets that are glands (cd:Gland), not muscles

    def add(self, phrase: str, entry: Entry) -> None:
        key = normalise(phrase)
        if not key:
            return
        entries = self.phrases.setdefault(key, [])
        if entry not in entries:
            entries.append(entry)
        if len(phrase) <= 3 and phrase.isupper():
            self.capitals.add(key)
        self.longest = max(self.longest, min(MAX_PHRASE_WORDS, len(key.split())))

    def entries(self, key: str, written: str) -> list[Entry]:
        """The entries of a normalised phrase as written in the note (capitals checked)."""
        found = self.phrases.get(key, [])
        if found and key in self.capitals and not written.isupper():
            return [e for e in found if e.kind in ("target", "ambiguous", "side")]
        return found

    def target(self, key: str) -> tuple[str, Target | tuple[str, list[str]]] | None:
        """A target or an ambiguous name (plural endings and a trailing "muscle" allowed)."""
        words = key.split()
        while len(words) > 1 and words[-1] in ("muscle", "muscles", "m"):
            words = words[:-1]
        return self.names._lookup(" ".join(words))


def build(graph: Graph, names: NameIndex) -> Lexicon:
    lexicon = Lexicon(names=names)
    lexicon.glands = _instances(graph, CD.Gland)
    # enumerations by their names and synonyms; guidance, approach and setting also by note phrases
    for field_name in ("side", "guidance", "approach", "indication", "product"):
        for key, iri in names.enums[field_name].items():
            lexicon.add(key, Entry(field_name, iri, names.name_of(iri)))
    for field_name, cls in (("side", CD.Laterality), ("guidance", CD.GuidanceKind), ("approach", CD.Approach),
                            ("setting", CD.Setting)):
        for iri in _instances(graph, cls):
            for phrase in graph.objects(iri, CD.notePhrase):
                lexicon.add(str(phrase), Entry(field_name, iri, names.name_of(iri)))
    for iri in _instances(graph, CD.Laterality):  # side words only right before a target ("each axilla")
        for phrase in graph.objects(iri, CD.notePhraseBefore):
            lexicon.add(str(phrase), Entry("side-before", iri, names.name_of(iri)))
    for region in graph.subjects(RDF.type, CD.BillingRegion):  # limbs as notes name them ("both legs")
        for phrase in graph.objects(region, CD.notePhrase):
            lexicon.add(str(phrase), Entry("limb", region, str(phrase)))
    # the note cues, read straight from the graph (an rdflib SPARQL query took half a second)
    kinds = {k: str(k).rsplit("#", 1)[-1] for k in graph.subjects(RDFS.subClassOf, CD.NoteCue)}
    cues: dict[str, set[str]] = {}
    for kind_iri, kind in kinds.items():
        for cue in graph.subjects(RDF.type, kind_iri):
            context = graph.value(cue, CD.noteContext)
            flag = graph.value(context, CD.notToday) if context is not None else None
            excludes = bool(flag is not None and flag.toPython())
            direction = str(graph.value(cue, CD.scopeDirection) or "forward")
            field_name = graph.value(cue, CD.cueField)
            label = str(context).rsplit("#", 1)[-1] if context is not None else ""
            for phrase in map(str, graph.objects(cue, CD.notePhrase)):
                if kind == "SectionHeading":
                    lexicon.headings[normalise(phrase)] = Entry("heading", context, label, excludes=excludes)
                    if context == CD.ProcedureContext:
                        lexicon.procedure_headings.add(normalise(phrase))
                elif kind == "ContextTrigger":
                    lexicon.add(phrase, Entry("trigger", context, label, direction=direction, excludes=excludes))
                elif kind == "ContextTerminator":
                    lexicon.add(phrase, Entry("terminator"))
                elif kind == "PseudoTrigger":
                    lexicon.add(phrase, Entry("pseudo"))
                elif kind == "ConditionName":
                    lexicon.add(phrase, Entry("condition"))
                elif kind == "FieldCue":
                    lexicon.add(phrase, Entry("field", str(field_name)))
                    cues.setdefault(str(field_name), set()).add(phrase)
    lexicon.cues = {name: tuple(sorted(phrases)) for name, phrases in sorted(cues.items())}
    for key in list(lexicon.phrases) + list(names.targets) + list(names.ambiguous):
        words = key.split()
        lexicon.longest = max(lexicon.longest, min(MAX_PHRASE_WORDS, len(words)))
        for n in range(1, len(words) + 1):
            lexicon.prefixes.add(" ".join(words[:n]))
    return lexicon


def _instances(graph: Graph, cls: URIRef) -> set:
    classes = {cls} | set(graph.transitive_subjects(RDFS.subClassOf, cls))
    return {s for c in classes for s in graph.subjects(RDF.type, c)}

