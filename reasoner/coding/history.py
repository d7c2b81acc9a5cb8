"""Rules across visits: the queries of ontology/history/ over a store of coded sessions.

A history rule is a SELECT like a conflict (?s, ?message, ?codes) over the union of the store's
graphs: the ontology and every session's asserted, inferred and result graphs. Rules that read a
patient's other sessions bind ?patient; for a few patients each such rule runs once per patient
(Oxigraph's substitutions: an index lookup), for many it runs once over the whole store. What a
rule finds for a session is written into that session's result graph, as findings marked
cd:fromHistory so that the next load of the same patient replaces them.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from ..core.vocab import CD
from .result import Finding

# Past this many patients a rule runs once over the whole store rather than once per patient.
WHOLE_STORE_AFTER = 200


def oxigraph_select(store):
    """How findings() asks an Oxigraph store (on disk or in memory): the union of its graphs,
    ?patient bound by substitution."""
    import pyoxigraph as ox

    def select(text: str, patient: str | None) -> list[dict]:
        substitutions = {ox.Variable("patient"): ox.Literal(patient)} if patient is not None else None
        answer = store.query(text, use_default_graph_as_union=True, substitutions=substitutions)
        names = [v.value for v in answer.variables]
        return [{n: sol[n].value for n in names if sol[n] is not None} for sol in answer]

    return select


def findings(select, ontology, patients: Iterable[str] | None = None,
             sessions: Iterable[str] | None = None) -> dict[str, list[Finding]]:
    """Findings by session IRI: for the sessions of `patients` (None: every patient) from the
    rules that read other sessions (they bind ?patient), and for the sessions in `sessions`
    (None: all) from those that do not (the note on missing fields). `select(text, patient)`
    runs a query over the store's union graph, ?patient bound when patient is given."""
    patients = None if patients is None else sorted(set(patients))
    focus = None if sessions is None else set(sessions)
    found: dict[str, dict[tuple, None]] = {}
    for query in ontology.queries.get("history", []):
        per_patient = "?patient" in query.text
        if per_patient and patients is not None and len(patients) <= WHOLE_STORE_AFTER:
            rows = [row for p in patients for row in select(query.text, p)]
        else:
            rows = select(query.text, None)
        wanted = None if patients is None else set(patients)
        for row in rows:
            s = row.get("s")
            if s is None:
                continue
            if per_patient and wanted is not None and row.get("patient") not in wanted:
                continue
            if not per_patient and focus is not None and s not in focus:
                continue
            key = (query.id, query.severity or "note", row.get("message", query.rationale),
                   tuple(sorted(set(row.get("codes", "").split()))))
            found.setdefault(s, {})[key] = None
    out = {}
    for s, keys in found.items():
        out[s] = [Finding(rule=k[0], severity=k[1], message=k[2], codes=k[3], kind="history",
                          code_iris=tuple(ontology.names.codes[c] for c in k[3] if c in ontology.names.codes))
                  for k in sorted(keys)]
    return out


def finding_triples(session_iri: str, items: list[Finding]) -> list[tuple]:
    """The findings as triples of the session's result graph (numbered {session}/history/N)."""
    s = URIRef(session_iri)
    triples = []
    for n, finding in enumerate(items, start=1):
        node = URIRef(f"{session_iri}/history/{n}")
        is_note = finding.severity == "note"
        triples += [(node, RDF.type, CD.Note if is_note else CD.Conflict),
                    (s, CD.hasNote if is_note else CD.hasConflict, node),
                    (node, CD.rule, Literal(finding.rule)),
                    (node, CD.severity, Literal(finding.severity)),
                    (node, CD.message, Literal(finding.message)),
                    (node, CD.fromHistory, Literal(True, datatype=XSD.boolean))]
        triples += [(node, CD.concernsCode, code) for code in finding.code_iris]
    return triples


def split(items: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(conflicts, notes)."""
    return [f for f in items if f.severity != "note"], [f for f in items if f.severity == "note"]
