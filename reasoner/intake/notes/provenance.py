"""What a note gave: the extraction (the session, the character spans each fact was read from,
what could not be settled, the targets named but not injected today, the names settled by their
context), the record the reading keeps of them, and the extraction for people (table, problem)
and for RDF (W3C Web Annotations)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from ...core.vocab import CD, OA


@dataclass
class Unresolved:
    text: str
    start: int
    end: int
    reason: str
    candidates: tuple[str, ...] = ()
    line: int = 0
    column: int = 0

    def as_json(self) -> dict:
        return {"text": self.text, "span": [self.start, self.end], "line": self.line, "column": self.column,
                "reason": self.reason, "candidates": list(self.candidates)}


@dataclass
class Extraction:
    """A note read: the session (documented input format), where each fact came from
    (field path -> character spans of the note), and what could not be settled."""

    source: str
    text: str
    session: dict
    spans: dict[str, list[tuple[int, int]]]
    unresolved: list[Unresolved]
    excluded: list[dict] = field(default_factory=list)  # targets named but not injected today, and why
    chosen: list[dict] = field(default_factory=list)  # ambiguous names settled by their neighbours, and how

    def quote(self, start: int, end: int) -> str:
        return " ".join(self.text[start:end].split())

    def position(self, offset: int) -> tuple[int, int]:
        return position(self.text, offset)

    def as_json(self) -> dict:
        doc = dict(self.session)
        doc["unresolved"] = [u.as_json() for u in self.unresolved]
        doc["provenance"] = {"note": self.source, "characters": len(self.text),
                             "spans": {k: [list(s) for s in v] for k, v in self.spans.items()},
                             "not_injected": self.excluded, "settled_by_context": self.chosen}
        return doc


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class Record:
    """What the reading of a note keeps beside the session: the spans each field was read from,
    what could not be settled, the targets named but not injected today (and why) and the names
    settled by their context (and how)."""

    def __init__(self, text: str):
        self.text = text
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.unresolved: list[Unresolved] = []
        self.excluded: list[dict] = []
        self.chosen: list[dict] = []  # ambiguous names settled by the targets listed with them

    def unresolve(self, span: tuple[int, int], reason: str, candidates=(), text: tuple[int, int] | None = None,
                  note: str | None = None) -> None:
        s, e = text or span
        quote = " ".join(self.text[s:e].split()).rstrip(" ,;.")[:120]
        line, column = position(self.text, s)
        self.unresolved.append(Unresolved(quote, s, e, reason + (f": {note}" if note else ""), tuple(candidates),
                                          line, column))

    def exclude(self, written: str, start: int, end: int, context: str) -> None:
        self.excluded.append({"text": written, "span": [start, end], "context": context})

    def choose(self, written: str, start: int, end: int, target: str, because: str) -> None:
        self.chosen.append({"text": written, "span": [start, end], "target": target, "because": because})


# ---------------------------------------------------------------------------
# What a note gave, for people and for RDF
# ---------------------------------------------------------------------------

def problem(u: Unresolved) -> str:
    reason, _, detail = u.reason.partition(": ")
    why = {"ambiguous-target": "a name that could mean targets billed differently",
           "side-missing": "no side found for a target whose side changes the code",
           "dose-unattached": "a dose that belongs to no named target",
           "unknown-target": "a target the ontology does not know",
           "diagnosis-not-billable": "an ICD-10-CM category that is not billable"}.get(reason, reason)
    text = f"{why}: {u.text!r}" + (f" ({detail})" if detail else "")
    if u.candidates:
        text += f"; name one of {', '.join(u.candidates)}"
    return text


def annotations(session, extraction: Extraction):
    """W3C Web Annotation triples linking each fact read (an injection, the guidance, the agent's
    fields) to the note's characters it was read from: a TextPositionSelector (offsets) and a
    TextQuoteSelector (the words, with a little of what surrounds them)."""
    note = URIRef(f"{session.iri}/note")
    yield note, RDF.type, CD.ProcedureNote
    yield session.iri, CD.readFrom, note
    yield note, CD.characters, Literal(len(extraction.text), datatype=XSD.integer)
    subjects = {f"injections[{n}]": inj.iri for n, inj in enumerate(session.injections)}
    for n, (path, spans) in enumerate(sorted(extraction.spans.items())):
        about = subjects.get(path, session.iri)
        for m, (start, end) in enumerate(spans):
            if end <= start:
                continue
            ann = URIRef(f"{session.iri}/note/annotation/{n + 1}-{m + 1}")
            target = URIRef(f"{ann}/target")
            position, quote = URIRef(f"{ann}/position"), URIRef(f"{ann}/quote")
            yield ann, RDF.type, OA.Annotation
            yield ann, OA.motivatedBy, OA.identifying
            yield ann, OA.hasBody, about
            yield ann, CD.noteField, Literal(path)
            yield ann, OA.hasTarget, target
            yield target, RDF.type, OA.SpecificResource
            yield target, OA.hasSource, note
            yield target, OA.hasSelector, position
            yield target, OA.hasSelector, quote
            yield position, RDF.type, OA.TextPositionSelector
            yield position, OA.start, Literal(start, datatype=XSD.nonNegativeInteger)
            yield position, OA.end, Literal(end, datatype=XSD.nonNegativeInteger)
            yield quote, RDF.type, OA.TextQuoteSelector
            yield quote, OA.exact, Literal(extraction.text[start:end])
            yield quote, OA.prefix, Literal(extraction.text[max(0, start - 24):start])
            yield quote, OA.suffix, Literal(extraction.text[end:end + 24])


def table(extraction: Extraction) -> str:
    """The note as read, for people: each injection with the words it was read from."""
    s = extraction.session
    out = [f"Note {extraction.source}  (session {s.get('id')})"]
    about = [f"{k} {s[k]}" for k in ("patient", "date", "setting", "approach", "indication") if s.get(k)]
    if s.get("diagnoses"):
        about.append("diagnoses " + ", ".join(s["diagnoses"]))
    about.append("guidance " + (", ".join(s["guidance"]) if s.get("guidance") else "none"))
    out.append("  " + "; ".join(about))
    agent = s.get("agent")
    if agent:
        out.append("  Agent: " + ", ".join(f"{k} {v}" for k, v in agent.items()))
    rows = [("ID", "TARGET", "SIDE", "UNITS", "SITES", "READ FROM")]
    for n, inj in enumerate(s.get("injections", [])):
        span = extraction.spans.get(f"injections[{n}]", [None])[0]
        where = ""
        if span:
            line, column = extraction.position(span[0])
            where = f"{line}:{column} {extraction.quote(*span)!r}"
        rows.append((inj["id"], inj["muscle"], inj.get("side", "-"), str(inj.get("units", "-")),
                     str(inj.get("sites", "-")), where))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    out.append("  Injections:")
    for r in rows:
        out.append("    " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
    if extraction.excluded:
        out.append("  Named, not injected today: " + "; ".join(
            f"{e['text']} ({e['context'].replace('Context', '').lower()}, {':'.join(map(str, extraction.position(e['span'][0])))})"
            for e in extraction.excluded))
    for c in extraction.chosen:
        out.append(f"  Settled by context: {c['text']!r} read as {c['target']} ({c['because']})")
    out.append("  Unresolved:" + ("" if extraction.unresolved else " none"))
    for u in extraction.unresolved:
        out.append(f"    {u.line}:{u.column} {problem(u)}")
    return "\n".join(out)
