"""`chemoden query` as a user runs it: every format, the library, sessions from files, folders and
JSON Lines, and the refusals, each with its exit code."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.query import Result

from reasoner import cli
from reasoner.core.vocab import CD

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TORTICOLLIS = EXAMPLES / "seed-63m-torticollis.json"
pytestmark = pytest.mark.xdist_group("query")
LINES = """PREFIX cd: <https://w3id.org/chemoden#>
SELECT ?session ?code ?units WHERE {
  ?l cd:lineOf ?s ; cd:code/cd:notation ?code ; cd:units ?units . ?s cd:identifier ?session
} ORDER BY ?session ?code"""


def query(capsys, *args) -> tuple[int, str, str]:
    """The command in process (the ontology stays loaded between tests), without the network wall,
    which would cut off this test process for good; tests/test_no_outbound.py runs the real command."""
    status = cli.main(["query", *args], wall=False)
    out, err = capsys.readouterr()
    return status, out, err


def expected_lines(*paths) -> set:
    from reasoner import code_file

    return {(r.session.identifier, ln.code, str(ln.units)) for p in paths for r in code_file(p) for ln in r.lines}


def test_list_shows_every_library_query_with_its_title(capsys):
    status, out, _ = query(capsys, "--list")
    assert status == 0
    names = sorted(p.stem for p in (ROOT / "ontology" / "queries").glob("*.rq"))
    assert [line.split()[0] for line in out.splitlines()] == names
    assert all(len(line.split(None, 1)) == 2 for line in out.splitlines())


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "table"])
def test_select_in_every_format(fmt, capsys):
    status, out, err = query(capsys, LINES, "--session", str(TORTICOLLIS), "--format", fmt)
    assert status == 0 and err == ""
    want = expected_lines(TORTICOLLIS)
    if fmt == "table":
        lines = out.splitlines()
        assert lines[0].split() == ["session", "code", "units"] and lines[-1] == f"({len(want)} rows)"
        got = {tuple(line.split()) for line in lines[1:-1]}
    else:  # parsed by rdflib's own SPARQL results parsers: the formats are the standard ones
        parsed = Result.parse(io.StringIO(out), format=fmt)
        got = {(str(r.session), str(r.code), str(r.units)) for r in parsed}
        if fmt == "json":
            doc = json.loads(out)
            assert doc["head"]["vars"] == ["session", "code", "units"]
            assert doc["results"]["bindings"][0]["units"]["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"
        if fmt == "csv":
            assert out.startswith("session,code,units\r\n")
    assert got == want


def test_ask_and_construct_formats(capsys):
    status, out, _ = query(capsys, "ASK { ?s a <https://w3id.org/chemoden#Session> }", "--format", "json")
    assert status == 0 and json.loads(out) == {"head": {}, "boolean": False}  # no session loaded
    status, out, _ = query(capsys, "billing-lines-graph", "--session", str(TORTICOLLIS), "--format", "turtle")
    assert status == 0
    g = Graph().parse(data=out, format="turtle")
    assert {int(u) for u in g.objects(None, CD.units)} == {1}
    assert {str(n) for n in g.objects(None, CD.notation)} == {"64616", "95874", "50"}
    status, out, _ = query(capsys, "billing-lines-graph", "--session", str(TORTICOLLIS), "--format", "json")
    assert status == 0 and set(Graph().parse(data=out, format="json-ld")) == set(g)  # JSON-LD for a graph


def test_sessions_from_a_folder_and_json_lines_are_coded_first(capsys, tmp_path):
    jsonl = tmp_path / "sessions.jsonl"
    docs = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("seed-*.json"))]
    jsonl.write_text("\n".join(json.dumps(d) for d in docs[:2]) + "\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    for d in docs[2:]:
        (folder / f"{d['id']}.json").write_text(json.dumps(d))
    status, out, err = query(capsys, LINES, "--session", str(jsonl), "--session", str(folder), "--format", "csv")
    assert status == 0, err
    got = {(r.session.value, r.code.value, r.units.value) for r in Result.parse(io.StringIO(out), format="csv")}
    assert got == expected_lines(*sorted(EXAMPLES.glob("seed-*.json")))


def test_a_bad_session_is_reported_and_the_others_are_queried(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "bad", "injections": [{"muscle": "paraspinal", "side": "left"}]}')
    status, out, err = query(capsys, "graphs", "--session", str(bad), "--session", str(TORTICOLLIS),
                             "--session", str(TORTICOLLIS))
    assert status == 2
    assert "bad.json: injections[0].muscle: ambiguous muscle 'paraspinal'" in err
    assert "session id 'seed-63m-torticollis' is already loaded" in err
    assert "graph:session/seed-63m-torticollis/result" in out and "graph:session/bad/" not in out


@pytest.mark.parametrize("text, message", [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "SPARQL Update is refused"),
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE (a federated query) is refused"),
    ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", "FROM names 'file:///etc/passwd'"),
    ("SELECT * WHERE { ?s ?p }", "SPARQL syntax error"),
    ("no-such-query", "'no-such-query' is not a library query"),
    ("missing.rq", "missing.rq: QUERY: file not found"),
])
def test_refusals_name_the_query_and_exit_2(text, message, capsys):
    status, out, err = query(capsys, text)
    assert status == 2 and out == ""
    assert err.startswith("chemoden: ") and message in err and len(err.splitlines()) == 1


def test_a_long_one_line_query_is_text_not_a_file_name(capsys, ontology):
    text = "SELECT ?p WHERE { ?p a <https://w3id.org/chemoden#PolicyProfile> " + " " * 400 + "}"
    status, out, err = query(capsys, text, "--format", "csv")
    assert status == 0, err
    assert len(out.splitlines()) == 1 + len(ontology.names.enum_choices("profile"))


@pytest.mark.parametrize("text, fmt, message", [
    ("profiles", "turtle", "turtle is for CONSTRUCT/DESCRIBE answers; a SELECT answer can be written as "
                           "table, json, csv or tsv"),
    ("ASK { ?s ?p ?o }", "turtle", "turtle is for CONSTRUCT/DESCRIBE answers; an ASK answer can be written as "
                                   "table, json, csv or tsv"),
])
def test_a_format_the_answer_cannot_take_lists_the_ones_it_can(text, fmt, message, capsys):
    status, out, err = query(capsys, text, "--format", fmt)
    assert status == 2 and out == ""
    assert err == f"chemoden: --format: {message}\n"


def test_formats_offered_by_the_api_are_listed_by_form():
    from rdflib import URIRef

    from reasoner.core.errors import QueryError
    from reasoner.engines.answer import Answer, render

    graph = Answer("graph", triples=[(URIRef("urn:s"), URIRef("urn:p"), URIRef("urn:o"))])
    with pytest.raises(QueryError) as exc:
        render(graph, "xml")
    assert exc.value.message == ("xml is for SELECT/ASK answers; a CONSTRUCT or DESCRIBE answer can be written as "
                                 "table, json, csv, tsv, turtle, json-ld, n-triples or rdf-xml")
    with pytest.raises(QueryError) as exc:
        render(Answer("select", ["x"], []), "yaml")
    assert exc.value.message == "'yaml' is not a format; a SELECT answer can be written as table, json, xml, csv or tsv"
    assert cli.QUERY_FORMATS == next(a.choices for p in cli._parser()._subparsers._group_actions[0].choices.values()
                                     if p.prog.endswith(" query") for a in p._actions if a.dest == "format")


def test_show_prints_a_library_query(capsys):
    status, out, err = query(capsys, "--show", "code-frequencies")
    path = ROOT / "ontology" / "queries" / "code-frequencies.rq"
    assert status == 0 and err == ""
    assert out == path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    assert out.startswith("# title: How often each code is billed\n") and "SELECT" in out


def test_show_of_an_unknown_name_lists_the_library(capsys):
    status, out, err = query(capsys, "--show", "code-frequency")
    names = sorted(p.stem for p in (ROOT / "ontology" / "queries").glob("*.rq"))
    assert status == 2 and out == ""
    assert err == f"chemoden: QUERY: 'code-frequency' is not a library query; the library has: {', '.join(names)}\n"


def test_a_session_query_without_sessions_says_to_add_them(capsys):
    status, out, err = query(capsys, "code-frequencies")
    assert status == 0 and out.splitlines()[-1] == "(0 rows)"
    assert err == ("chemoden: code-frequencies reads coded sessions and none is loaded: add --session FILE_OR_DIR "
                   "(a session file, a folder of them or a JSON Lines file)\n")
    status, out, err = query(capsys, "code-frequencies", "--session", str(TORTICOLLIS))
    assert status == 0 and err == "" and "64616" in out
    status, out, err = query(capsys, "profiles")  # over the ontology: no hint
    assert status == 0 and err == ""
    status, out, err = query(capsys, "code-frequencies", "--session", "no-such-file.json")
    assert status == 2 and err == "chemoden: no-such-file.json: --session: file not found\n"  # that line says why


def test_from_a_graph_of_the_dataset_narrows_the_default_graph(capsys):
    text = ("SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/chemoden/graph/ontology> "
            "WHERE { ?s a <https://w3id.org/chemoden#InjectionTarget> }")
    status, out, _ = query(capsys, text, "--format", "csv")
    assert status == 0 and out.splitlines()[1] == "0"  # the class is inferred: not in the asserted graph
    status, out, _ = query(capsys, text.replace("FROM <https://w3id.org/chemoden/graph/ontology> ", ""), "--format", "csv")
    assert int(out.splitlines()[1]) > 100


def test_query_file_and_the_real_command(tmp_path):
    rq = tmp_path / "lines.rq"
    rq.write_text(LINES)
    proc = subprocess.run([sys.executable, "-m", "reasoner", "query", str(rq), "--session", str(EXAMPLES),
                           "--format", "tsv"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    got = {(r.session.value, r.code.value, str(r.units.value)) for r in Result.parse(io.StringIO(proc.stdout), format="tsv")}
    sessions = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".ttl"))
    assert got == expected_lines(*sessions)


# --- a newcomer's SPARQL: predeclared prefixes, messages in words ------------------------------

def small_stores():
    """The same two triples in an Oxigraph and an rdflib store, in one named graph."""
    from rdflib import Literal, URIRef

    from reasoner.engines.store import OxigraphStore, RdflibStore

    graph = URIRef("https://w3id.org/chemoden/graph/ontology")
    triples = [(URIRef(CD.sternocleidomastoid), URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                URIRef(CD.Muscle)),
               (URIRef(CD.sternocleidomastoid), URIRef("urn:other#label"), Literal("theirs"))]
    stores = [OxigraphStore(), RdflibStore()]
    for store in stores:
        store.add(graph, triples)
    return stores, {str(graph): len(triples)}


def test_the_project_prefixes_are_predeclared_in_both_engines():
    from reasoner.core.vocab import PREFIXES
    from reasoner.engines.safety import run

    assert {"cd", "rdf", "rdfs", "owl", "xsd", "skos", "dcterms", "obo", "fma"} <= set(PREFIXES)
    stores, graphs = small_stores()
    for store in stores:
        answer = run(store, "SELECT ?x WHERE { ?x a cd:Muscle }", graphs)
        assert [str(r["x"]) for r in answer.rows] == [str(CD.sternocleidomastoid)], store.kind
        assert run(store, "ASK { ?x rdf:type cd:Muscle }", graphs).boolean is True
        # the query's own PREFIX wins over a predeclared one
        own = run(store, "PREFIX cd: <urn:other#> SELECT ?l WHERE { ?x cd:label ?l }", graphs)
        assert [str(r["l"]) for r in own.rows] == ["theirs"], store.kind


def test_the_command_runs_a_query_without_prefix_lines(capsys):
    status, out, err = query(capsys, "SELECT (COUNT(?m) AS ?n) WHERE { ?m a cd:Muscle ; rdfs:label ?l }", "--format", "csv")
    assert status == 0, err
    assert int(out.splitlines()[1]) > 100


@pytest.mark.parametrize("text, message", [
    ("SELECT ?x WHERE { ?x a foo:Muscle }",
     "the prefix 'foo:' is not declared: add PREFIX foo: <...> at the top of the query"),
    ("SELECT ?x WHERE { ?x a foaf:Person }",
     "the prefix 'foaf:' is not declared: add PREFIX foaf: <http://xmlns.com/foaf/0.1/> at the top of the query"),
    ("SELECT ?x WHERE { ?x a :Muscle }", "the prefix ':' is not declared: add PREFIX : <...> at the top of the query"),
    ("SELECT ?x WHERE { ?x a CD:Muscle }", "the prefix 'CD:' is not declared: add PREFIX CD: <...> at the top of "
                                           "the query (or write cd:, which is predeclared)"),
    ("SELECT ?x WHERE { ?x cd:dose \"1\"^^foo:units }",
     "the prefix 'foo:' is not declared: add PREFIX foo: <...> at the top of the query"),
])
def test_an_undeclared_prefix_is_named_with_the_line_to_add(text, message, capsys):
    status, out, err = query(capsys, text)
    assert status == 2 and out == ""
    assert err == f"chemoden: QUERY: {message}\n"


@pytest.mark.parametrize("text, message", [
    ("SELECT * WHERE { ?s ?p }", "line 1, column 24: expected a variable, an IRI, a prefixed name or a literal, "
                                 "found '}'"),
    ("?x WHERE { ?x ?p ?o }", "line 1, column 1: expected BASE, a PREFIX declaration or a query form "
                              "(SELECT, ASK, CONSTRUCT or DESCRIBE), found '?x'"),
    ("SELECT ?x WHERE {\n  ?x a cd:Muscle ;\n     rdfs:label ?l\n  ?y ?p ?o }",
     "line 4, column 3: expected '}', ',', ';', '.' or another pattern (OPTIONAL, FILTER, BIND, ...), found '?y'"),
    ("SELECT ?x WHERE { ?x a cd:Muscle } ORDER ?x", "line 1, column 42: expected BY, found '?x'"),
    ("SELECT (COUNT(?x) ?n) WHERE { ?x a cd:Muscle }", "line 1, column 19: expected an operator or AS, found '?n'"),
    ("SELECT ?x WHERE { ?x rdfs:label ?l FILTER (CONTAINS(?l, 'a') }",
     "line 1, column 62: expected ')' or an operator, found '}'"),
    ("SELECT ?x WHERE { ?x ?p ?o } LIMIT ten", "line 1, column 36: expected a whole number, found 'ten'"),
    ("ASK { ?s ?p ?o } garbage", "line 1, column 18: expected GROUP BY, HAVING, ORDER BY, LIMIT, OFFSET, VALUES or "
                                 "the end of the query, found 'garbage'"),
    ("PREFIX cd: <https://w3id.org/chemoden#\nSELECT * {}", "line 1, column 39: expected '>', found the end of the line"),
    ("SELECT ?x WHERE { BIND (1 AS x) }", "line 1, column 30: expected a variable, found 'x'"),
])
def test_a_syntax_error_names_line_column_and_what_could_come_there(text, message, capsys):
    status, out, err = query(capsys, text)
    assert status == 2 and out == ""
    assert err == f"chemoden: QUERY: SPARQL syntax error at {message}\n"


def test_a_syntax_error_in_any_spot_is_said_in_words():
    """Wherever a query breaks off, the message has a line and column and no parser insides:
    no grammar rule names, Unicode ranges or pyparsing's own reprs."""
    from reasoner.core.errors import QueryError
    from reasoner.engines.safety import inspect

    text = ("PREFIX ex: <http://example.org/>\nSELECT DISTINCT ?s (COUNT(?o) AS ?n) WHERE {\n"
            "  ?s ex:p/ex:q* ?o ; a cd:Muscle . OPTIONAL { ?s rdfs:label ?l } FILTER (LANG(?l) = 'en')\n"
            "} GROUP BY ?s ORDER BY DESC(?n) LIMIT 5")
    inspect(text)
    for cut in range(1, len(text)):
        try:
            inspect(text[:cut])
            continue
        except QueryError as exc:
            message = exc.message
        if message.startswith("SPARQL Update"):  # the PREFIX line alone reads as an empty update
            continue
        assert message.startswith("SPARQL syntax error at line "), message
        for inside in ("Query", "\\u", "Re:", "Suppress", "Combine", "(at char", "Forward", "{{"):
            assert inside not in message, (text[:cut], message)
