"""The result of coding one session and its renderings: table, JSON, Turtle."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ..core.vocab import CD
from ..knowledge.names import normalise


def _injection_text(inj) -> str:
    """'i1 left biceps brachii', with the name as written when it differs beyond case and side."""
    sides = " and ".join(inj.sides)
    text = f"{inj.identifier} {sides + ' ' if sides else ''}{inj.target_label}"
    plain = normalise(inj.written)
    if getattr(inj, "quote", None):  # read from a procedure note: the words, and where
        text += f" (note {inj.where}: {inj.quote!r})"
    elif plain not in (normalise(inj.target_label), normalise(f"{sides} {inj.target_label}")):
        text += f" (written {inj.written!r})"
    return text


def _about(session) -> str:
    """'Patient ID, date of service YYYY-MM-DD, diagnoses CODE, CODE': the parts the session gives."""
    parts = []
    if getattr(session, "patient", None) is not None:
        parts.append(f"patient {session.patient}")
    if getattr(session, "date", None) is not None:
        parts.append(f"date of service {session.date.isoformat()}")
    if getattr(session, "diagnoses", ()):
        parts.append("diagnoses " + ", ".join(session.diagnoses))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Line:
    iri: URIRef
    code: str
    code_iri: URIRef
    label: str
    order: int  # 0 procedure, 1 add-on, 2 drug or supply
    units: int
    modifiers: tuple[str, ...]
    rule: str
    because: tuple[str, ...]
    explanation: str
    ndc: str | None = None
    modifier_iris: tuple[URIRef, ...] = ()
    because_iris: tuple[URIRef, ...] = ()

    def as_dict(self) -> dict:
        out = {"code": self.code, "units": self.units, "modifiers": list(self.modifiers),
               "rule": self.rule, "because": list(self.because), "label": self.label,
               "explanation": self.explanation}
        if self.ndc:
            out["ndc"] = self.ndc
        return out

    def __repr__(self) -> str:
        return f"Line({self.short()!r}, rule={self.rule!r}, because={list(self.because)!r})"

    def short(self) -> str:
        """64616-50 x1"""
        mods = "".join(f"-{m}" for m in self.modifiers)
        return f"{self.code}{mods} x{self.units}" + (f" NDC {self.ndc}" if self.ndc else "")


@dataclass(frozen=True)
class Finding:
    """A conflict (severity error or warning) or a note (severity 'note')."""

    rule: str
    severity: str
    message: str
    codes: tuple[str, ...] = ()
    corrected: tuple[Line, ...] = ()  # what the documentation supports instead
    kind: str = "conflict"  # conflict (the documentation) | audit (the claim) | note
    code_iris: tuple[URIRef, ...] = ()

    def as_dict(self) -> dict:
        out = {"rule": self.rule, "severity": self.severity, "message": self.message, "codes": list(self.codes)}
        if self.kind == "audit":
            out["corrected"] = [{"code": c.code, "units": c.units, "modifiers": list(c.modifiers),
                                 **({"ndc": c.ndc} if c.ndc else {})} for c in self.corrected]
        return out

    def __repr__(self) -> str:
        message = self.message if len(self.message) <= 60 else self.message[:57] + "..."
        return f"Finding({self.rule!r}, {self.severity!r}, codes={list(self.codes)!r}, message={message!r})"

    def corrected_text(self) -> str:
        return "; ".join(c.short() for c in self.corrected) if self.corrected else "nothing (remove the billed line)"


@dataclass
class Result:
    session: object  # reasoner.intake.model.Session
    lines: list[Line]
    conflicts: list[Finding]
    notes: list[Finding]
    classification: list[tuple] = field(default_factory=list, repr=False)  # inferred types, extremities, sides
    audited: bool = False  # the session carried a claim (billed lines) and was audited

    def __repr__(self) -> str:
        return (f"Result(session={self.session.identifier!r}, lines={[ln.short() for ln in self.lines]!r}, "
                f"conflicts={[c.rule for c in self.conflicts]!r}, notes={len(self.notes)})")

    @property
    def has_errors(self) -> bool:
        return any(c.severity == "error" for c in self.conflicts)

    # -- JSON -------------------------------------------------------------------
    def as_dict(self) -> dict:
        s = self.session
        out = {"session": s.identifier, "profile": s.profile_name}
        if getattr(s, "patient", None) is not None:
            out["patient"] = s.patient
        if getattr(s, "date", None) is not None:
            out["date"] = s.date.isoformat()
        if getattr(s, "diagnoses", ()):
            out["diagnoses"] = list(s.diagnoses)
        out.update({
            "lines": [ln.as_dict() for ln in self.lines],
            "conflicts": [c.as_dict() for c in self.conflicts],
            "notes": [n.message for n in self.notes],
        })
        if self.session.claim:
            out["billed"] = self.session.claim
        if getattr(s, "note", None) is not None:  # where each injection a line is billed for was read
            out["note"] = {"source": s.note.source, "injections": {
                i.identifier: {"quote": i.quote, "where": i.where} for i in s.injections if i.quote}}
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"), ensure_ascii=False)

    # -- table ------------------------------------------------------------------
    def to_table(self) -> str:
        s = self.session
        out = [f"Session {s.identifier}  (profile: {s.profile_name}; source: {s.source})"]
        about = _about(s)
        if about:
            out.append("  " + about)
        out.append("  Injections: " + "; ".join(_injection_text(i) for i in s.injections))
        if s.claim:
            out.append("  Claim as billed: " + "; ".join(
                f"{c['code']}{''.join('-' + m for m in c['modifiers'])} x{c['units']}"
                + (f" NDC {c['ndc']}" if c.get("ndc") else "") for c in s.claim))
            out.append("  What the documentation supports:")
        rows = [("CODE", "UNITS", "MODIFIERS", "RULE", "BECAUSE")]
        for ln in self.lines:
            rows.append((ln.code, str(ln.units), " ".join(ln.modifiers) or "-", ln.rule, " ".join(ln.because) or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            out.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if not self.lines:
            out.append("  (no billable line)")
        out.append("  Why:")
        for ln in self.lines:
            out.append(f"    {ln.short()} {ln.label}: {ln.explanation}")
        out.append("  Conflicts:" + ("" if self.conflicts else " none"))
        for c in self.conflicts:
            codes = f" [{', '.join(c.codes)}]" if c.codes else ""
            out.append(f"    {c.severity.upper()} {c.rule}{codes}: {c.message}")
            if c.kind == "audit":
                out.append(f"      documentation supports: {c.corrected_text()}")
        if self.notes:
            out.append("  Notes:")
            for n in self.notes:
                out.append(f"    - {n.message}")
        return "\n".join(out)

    # -- RDF --------------------------------------------------------------------
    def to_graph(self) -> Graph:
        """The session as resolved, its classification, and the result, in the cd: vocabulary."""
        g = Graph()
        g.bind("cd", CD)
        g += self.session.graph
        for triple in self.classification:
            g.add(triple)
        for triple in self.result_triples():
            g.add(triple)
        return g

    def result_triples(self):
        """The result's own triples (lines, conflicts, notes; a triple may come twice): what
        to_graph() adds to the session and its classification, without building a graph."""
        s = self.session
        for ln in self.lines:
            yield ln.iri, RDF.type, CD.BillingLine
            yield ln.iri, CD.lineOf, s.iri
            yield ln.iri, CD.code, ln.code_iri
            yield ln.code_iri, CD.notation, Literal(ln.code)
            yield ln.code_iri, RDFS.label, Literal(ln.label)
            yield ln.iri, CD.units, Literal(ln.units, datatype=XSD.integer)
            for iri, notation in zip(ln.modifier_iris, ln.modifiers):
                yield ln.iri, CD.modifier, iri
                yield iri, CD.notation, Literal(notation)
            for inj in ln.because_iris:
                yield ln.iri, CD.because, inj
            yield ln.iri, CD.rule, Literal(ln.rule)
            if ln.ndc:
                yield ln.iri, CD.ndc, Literal(ln.ndc)
            yield ln.iri, CD.explanation, Literal(ln.explanation)
        for n, finding in enumerate(self.conflicts + self.notes):
            node = URIRef(f"{s.iri}/finding/{n + 1}")
            is_note = finding.severity == "note"
            yield node, RDF.type, CD.Note if is_note else CD.Conflict
            yield s.iri, CD.hasNote if is_note else CD.hasConflict, node
            yield node, CD.rule, Literal(finding.rule)
            yield node, CD.severity, Literal(finding.severity)
            yield node, CD.message, Literal(finding.message)
            for code in finding.code_iris:
                yield node, CD.concernsCode, code

    def to_turtle(self) -> str:
        return self.to_graph().serialize(format="turtle")

