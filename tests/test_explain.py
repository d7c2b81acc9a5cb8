"""NameIndex.explain (how a written name resolves, for people) and the notebook conveniences
of the dataset: Dataset.query, Answer.records, Answer's HTML table."""

import re

import pytest
from rdflib.namespace import RDF, RDFS, SKOS

from reasoner.core.errors import QueryError
from reasoner.core.vocab import CD
from reasoner.engines.answer import Answer, render
from reasoner.surfaces.dataset import build

KINDS = {RDFS.label: "label", SKOS.altLabel: "synonym", SKOS.hiddenLabel: "misspelling"}


def names_of_targets(g):
    for target in sorted(set(g.subjects(CD.billingRegion, None))):
        for prop, kind in KINDS.items():
            for name in g.objects(target, prop):
                yield target, str(name), kind


def test_every_name_of_every_target_explains_to_it_with_its_kind(ontology):
    g = ontology.graph
    checked = 0
    for target, name, kind in names_of_targets(g):
        label = str(g.value(target, RDFS.label))
        region = str(g.value(g.value(target, CD.billingRegion), RDFS.label))
        trace = ontology.names.explain(name)
        assert (trace.target, trace.region, trace.kind, trace.name, trace.side) == (label, region, kind, name, None)
        assert repr(name) in str(trace) and label in str(trace)
        checked += 1
    assert checked > 300


def test_side_words_plurals_and_case_are_peeled_before_the_match(ontology):
    g = ontology.graph
    target, name, kind = next((t, n, k) for t, n, k in names_of_targets(g) if k == "synonym" and " " not in n)
    for written, side in ((f"left {name}", "left"), (f"{name.upper()} right", "right"), (f"{name}s", None)):
        trace = ontology.names.explain(written)
        assert (trace.target, trace.side, trace.name) == (str(g.value(target, RDFS.label)), side, name), written
        assert trace.written == written


def test_an_ambiguous_name_lists_its_candidates_and_nothing_suggests(ontology):
    g = ontology.graph
    for amb in g.subjects(RDF.type, CD.AmbiguousName):
        name = str(g.value(amb, RDFS.label))
        trace = ontology.names.explain(name)
        candidates = {str(g.value(c, RDFS.label)) for c in g.objects(amb, CD.candidate)}
        assert trace.target is None and trace.kind == "ambiguous name" and set(trace.candidates) == candidates
        assert "ambiguous" in str(trace)
    label = str(g.value(next(iter(sorted(g.subjects(CD.billingRegion, None)))), RDFS.label))
    typo = label[:-1] + ("x" if label[-1] != "x" else "y")
    trace = ontology.names.explain(typo)
    assert trace.target is None and label in trace.suggestions and "did you mean" in str(trace)
    assert ontology.names.explain("qqqq zzzz").suggestions == ()


@pytest.fixture(scope="module")
def ontology_dataset(ontology):
    return build(ontology)


def test_dataset_query_takes_a_library_name_or_text_like_the_command(ontology_dataset):
    by_name = ontology_dataset.query("profiles")
    text = (ontology_dataset.directory / "queries" / "profiles.rq").read_text()
    assert render(by_name, "table") == render(ontology_dataset.query(text), "table")
    with pytest.raises(QueryError, match="read-only"):
        ontology_dataset.query("DELETE WHERE { ?s ?p ?o }")
    with pytest.raises(QueryError, match="not a library query"):
        ontology_dataset.query("no-such-query")


def test_records_are_python_values_and_the_html_table_shows_every_row(ontology_dataset):
    answer = ontology_dataset.query("muscles-per-region")
    records = answer.records()
    assert len(records) == len(answer.rows)
    assert all(isinstance(r["targets"], int) and isinstance(r["region"], str) for r in records)
    assert answer.column("targets") == [r["targets"] for r in records]
    html = answer._repr_html_()
    assert html.count("<tr>") == len(records) + 1
    assert all(f"<td>{r['region']}</td>" in html.replace("&#x27;", "'") for r in records)
    iris = ontology_dataset.query("PREFIX cd: <https://w3id.org/chemoden#> SELECT ?c WHERE { ?c a cd:PrimaryCode }")
    assert "cd:cpt" in iris._repr_html_() and all(v.startswith("https://") for v in iris.column("c"))
    ask = ontology_dataset.query("ASK { ?s ?p ?o }")
    assert "true" in ask._repr_html_()
    graph = ontology_dataset.query("CONSTRUCT { ?c ?p ?o } WHERE { ?c a <https://w3id.org/chemoden#Modifier> ; ?p ?o }")
    assert graph.records() and set(graph.records()[0]) == {"subject", "predicate", "object"}
    assert re.search(r"<td>cd:mod\w+</td>", graph._repr_html_())


def test_a_table_of_ones_own_rows_shows_and_renders_like_a_query():
    table = Answer.of([{"code": "A", "units": 2, "why": ["x", "y"]}, {"code": "B", "units": None}])
    assert table.variables == ["code", "units", "why"]
    assert table.records() == [{"code": "A", "units": 2, "why": "x, y"}, {"code": "B"}]
    assert render(table, "table").splitlines() == ["code  units  why", "A     2      x, y", "B", "(2 rows)"]
    assert table._repr_html_().count("<tr>") == 3
    printed = []
    table._repr_pretty_(type("Printer", (), {"text": lambda self, t: printed.append(t)})(), False)
    assert printed == [render(table, "table").rstrip("\n")]
