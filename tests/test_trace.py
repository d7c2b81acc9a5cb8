"""reasoner.trace: coding one session step by step tells the same story as `chemoden code`."""

from pathlib import Path

import pytest
from rdflib.namespace import RDF

from reasoner import code, read_path, trace
from reasoner.core.vocab import CD

EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "examples").rglob("*") if p.suffix in (".json", ".ttl"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=[p.stem for p in EXAMPLES])
def traced(request, ontology):
    session = read_path(request.param, ontology)[0]
    return trace(session, ontology), code(session, ontology)


def test_the_trace_ends_in_the_result_code_gives(traced):
    got, coded = traced
    assert got.result.to_json() == coded.to_json()


def test_every_query_that_ran_is_a_step_in_file_order(traced, ontology):
    got, _ = traced
    ran = [s.id for s in got.steps]
    audits = [q.id for q in ontology.queries["audit"]] if got.session.claim else []
    expected = [q.id for kind in ("rule", "conflict") for q in ontology.queries[kind]] + audits + \
        [q.id for q in ontology.queries["note"]]
    assert ran == expected


def test_each_line_is_added_by_the_step_of_its_rule(traced):
    got, _ = traced
    for line in got.result.lines:
        step = got.step(line.rule)
        assert (line.iri, RDF.type, CD.BillingLine) in step.added, line.rule
        assert (line.iri, CD.code, line.code_iri) in step.added
        others = [s for s in got.steps if s is not step and (line.iri, RDF.type, CD.BillingLine) in s.added]
        assert not others, [s.id for s in others]
        assert "cd:BillingLine" in step.turtle()
    for step in got.steps:
        if step.kind != "rule":
            assert not step.added and not step.removed  # only rules change the graph


def test_finding_steps_hold_the_rows_behind_each_finding(traced):
    got, _ = traced
    for finding in got.result.conflicts + got.result.notes:
        rows = got.step(finding.rule).rows
        assert rows, finding.rule
        assert all(r["s"] == str(got.session.iri) for r in rows)


def test_the_inferred_types_are_the_classification_not_the_asserted(traced):
    got, coded = traced
    asserted_types = {(s, o) for s, p, o in got.asserted if p == RDF.type}
    assert not {(s, o) for s, p, o in got.inferred if p == RDF.type} & asserted_types
    classified = {(s, o) for s, p, o in coded.classification if p == RDF.type}
    by_id = {i.identifier: i for i in got.session.injections}
    for row in got.injection_types():
        inj = by_id[row["injection"]]
        assert row["muscle"] == inj.target_label
        expected = sorted(f"cd:{o.split('#')[1]}" for s, o in classified if s == inj.iri)
        assert sorted(row["before"] + row["added"]) == expected
        assert row["added"], f"OWL-RL classified nothing for {row['injection']}"


def test_without_oxigraph_the_trace_runs_on_rdflib_to_the_same_end(ontology, monkeypatch):
    from reasoner.engines import registry

    session = read_path(EXAMPLES[0], ontology)[0]
    on_oxigraph = trace(session, ontology)
    monkeypatch.setattr(registry, "has_oxigraph", lambda: False)
    on_rdflib = trace(session, ontology)
    assert on_rdflib.result.to_json() == on_oxigraph.result.to_json()
    assert [(s.id, set(s.added), set(s.removed)) for s in on_rdflib.steps] == \
        [(s.id, set(s.added), set(s.removed)) for s in on_oxigraph.steps]
