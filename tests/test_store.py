"""The treatment-history store as its users drive it: `chemoden load` into a folder, then other
processes reading it (query, export, code --store), a reload replacing a session, a store refused
with another ontology until --recode, the pre-bill check, the keyed patient hash, one writer at a
time while readers keep answering."""

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import Dataset

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "examples" / "history"
pytestmark = pytest.mark.xdist_group("store")


def chemoden(*args, check=None, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "reasoner", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=kw.pop("cwd", ROOT), **kw)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def rows(proc) -> list[dict]:
    doc = json.loads(proc.stdout)
    return [{k: v["value"] for k, v in b.items()} for b in doc["results"]["bindings"]]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "practice"
    proc = chemoden("load", HISTORY, "--store", path, "--jobs", "1")
    assert proc.returncode == 1, proc.stderr  # the duplicate service is an error finding
    assert "5 coded" in proc.stderr and "0 failed" in proc.stderr, proc.stderr
    return path


def test_store_is_private_and_remembers_what_built_it(store, ontology):
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    manifest = json.loads((store / "chemoden-store.json").read_text())
    assert manifest["ontology"] == ontology.digest and manifest["sessions"] == 5
    assert manifest["patient_key"] is None and manifest["profile"] is None
    for path in (store / manifest["snapshot"]).rglob("*"):
        assert not stat.S_IMODE(path.stat().st_mode) & 0o077, path


def test_a_second_process_queries_the_store(store):
    proc = chemoden("query", "code-frequencies", "--store", store, "--format", "json", check=0)
    got = {r["code"]: int(r["sessions"]) for r in rows(proc)}
    assert got["64616"] == 3 and got["64642"] == 2


def test_history_findings_are_in_the_result_graphs(store):
    proc = chemoden("query", "--store", store, "--format", "json",
                    "SELECT ?id ?rule WHERE { ?s cd:identifier ?id ; cd:hasConflict ?f . ?f cd:fromHistory true ; "
                    "cd:rule ?rule }", check=0)
    found = {(r["id"], r["rule"]) for r in rows(proc)}
    assert found == {("p1001-2026-02-23-neck", "treatment-interval"), ("p1001-2026-02-23-neck", "cumulative-dose"),
                     ("p1002-2026-03-02-arm", "duplicate-service"),
                     ("p1002-2026-03-02-arm-entered-twice", "duplicate-service")}


def test_prebill_checks_a_new_session_against_the_history_without_writing(store, tmp_path):
    visit = {"id": "p1001-2026-03-09-neck", "patient": "P-1001", "date": "2026-03-09", "diagnoses": ["G24.3"],
             "injections": [{"muscle": "left sternocleidomastoid"}, {"muscle": "right splenius capitis"}],
             "agent": {"product": "Botox", "units_administered": 100}}
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(visit))
    proc = chemoden("code", "--store", store, "--format", "json", path, check=0)
    doc = json.loads(proc.stdout)
    rules = {c["rule"] for c in doc["conflicts"]}
    assert {"treatment-interval", "cumulative-dose"} <= rules, doc["conflicts"]
    message = next(c["message"] for c in doc["conflicts"] if c["rule"] == "treatment-interval")
    assert "14 days earlier" in message and "p1001-2026-02-23-neck" in message
    # nothing written: the store still holds five sessions
    count = chemoden("query", "--store", store, "--format", "json",
                     "SELECT (COUNT(?s) AS ?n) WHERE { ?s a cd:Session }", check=0)
    assert rows(count)[0]["n"] == "5"
    # the same visit without a patient is coded alone, and the note says so
    path.write_text(json.dumps({k: v for k, v in visit.items() if k != "patient"}))
    doc = json.loads(chemoden("code", "--store", store, "--format", "json", path, check=0).stdout)
    assert not any(c["rule"] == "treatment-interval" for c in doc["conflicts"])
    assert any("checks across visits" in n for n in doc["notes"])


def test_export_streams_every_quad(store, tmp_path):
    out = tmp_path / "practice.nq"
    chemoden("export", "--store", store, "--format", "nquads", "-o", out, check=0)
    ds = Dataset()
    ds.parse(out, format="nquads")
    names = {str(g.identifier) for g in ds.graphs()}
    assert "https://w3id.org/chemoden/graph/ontology" in names
    assert "https://w3id.org/chemoden/graph/session/p1001-2026-01-12-neck/result" in names
    trig = chemoden("export", "--store", store, "--format", "trig", check=0).stdout
    again = Dataset()
    again.parse(data=trig, format="trig")
    assert len(again) == len(ds)


def _copy_store(store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    return copy


def test_reload_replaces_a_session(store, tmp_path):
    copy = _copy_store(store, tmp_path)
    changed = json.loads((HISTORY / "p1002-2026-03-02-arm-entered-twice.json").read_text())
    changed["date"] = "2026-03-03"  # the second entry was the next day's visit
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps(changed))
    proc = chemoden("load", path, "--store", copy, "--jobs", "1", check=0)
    assert "1 replaced" in proc.stderr
    found = rows(chemoden("query", "--store", copy, "--format", "json",
                          "SELECT ?id ?rule ?date WHERE { ?s cd:identifier ?id ; cd:dateOfService ?date . "
                          "OPTIONAL { ?s cd:hasConflict ?f . ?f cd:fromHistory true ; cd:rule ?rule } "
                          "FILTER STRSTARTS(?id, 'p1002') }", check=0))
    assert {(r["id"], r["date"], r.get("rule")) for r in found} == {
        ("p1002-2026-03-02-arm", "2026-03-02", None),
        ("p1002-2026-03-02-arm-entered-twice", "2026-03-03", "treatment-interval")}


def test_another_ontology_is_refused_until_recoded(store, tmp_path):
    copy = _copy_store(store, tmp_path)
    ontology = tmp_path / "ontology"
    shutil.copytree(ROOT / "ontology", ontology)
    profiles = ontology / "profiles.ttl"
    profiles.write_text(profiles.read_text().replace("cd:minTreatmentIntervalDays 84", "cd:minTreatmentIntervalDays 30"))
    refused = chemoden("query", "code-frequencies", "--store", copy, "--ontology", ontology, check=2)
    assert "another ontology" in refused.stderr and "--recode" in refused.stderr
    assert chemoden("load", HISTORY, "--store", copy, "--ontology", ontology).returncode == 2
    proc = chemoden("load", "--store", copy, "--recode", "--ontology", ontology, "--jobs", "1")
    assert "5 coded" in proc.stderr, proc.stderr
    found = rows(chemoden("query", "--store", copy, "--ontology", ontology, "--format", "json",
                          "SELECT ?id WHERE { ?s cd:identifier ?id ; cd:hasConflict ?f . ?f cd:rule 'treatment-interval' }",
                          check=0))
    assert found == []  # 42 days apart is within a 30-day minimum


def test_patient_key_hashes_identifiers_before_anything_is_written(tmp_path):
    key = tmp_path / "key.txt"
    key.write_text("a3f1c9d2e8b7a6f5c4d3e2f1a0b9c8d7\n")
    path = tmp_path / "keyed"
    chemoden("load", HISTORY, "--store", path, "--patient-key", key, "--jobs", "1")
    raw = b"".join(p.read_bytes() for p in path.rglob("*") if p.is_file())
    assert b"P-1001" not in raw and b"P-1002" not in raw
    patients = {r["p"] for r in rows(chemoden("query", "--store", path, "--format", "json",
                                              "SELECT DISTINCT ?p WHERE { ?s cd:patientId ?p }", check=0))}
    assert len(patients) == 3 and all(len(p) == 64 and int(p, 16) >= 0 for p in patients)
    visit = tmp_path / "visit.json"
    visit.write_text(json.dumps({"patient": "P-1001", "date": "2026-03-09", "injections": [
        {"muscle": "left sternocleidomastoid"}]}))
    doc = json.loads(chemoden("code", "--store", path, "--patient-key", key, "--format", "json", visit, check=0).stdout)
    assert any(c["rule"] == "treatment-interval" for c in doc["conflicts"])
    refused = chemoden("code", "--store", path, "--format", "json", visit, check=2)
    assert "--patient-key" in refused.stderr


def test_one_writer_while_readers_answer(store, tmp_path, ontology):
    from generate import generate

    copy = _copy_store(store, tmp_path)
    sessions = tmp_path / "more.jsonl"
    with sessions.open("w") as fh:
        for doc in generate(400, seed=3, ontology=ontology):
            fh.write(json.dumps(doc) + "\n")
    writer = subprocess.Popen([sys.executable, "-m", "reasoner", "load", str(sessions), "--store", str(copy),
                               "--jobs", "1", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        time.sleep(1.0)
        second = chemoden("load", HISTORY, "--store", copy)
        busy = second.returncode == 2 and "another chemoden load" in second.stderr
        answers = [chemoden("query", "--store", copy, "--format", "json",
                            "SELECT (COUNT(?s) AS ?n) WHERE { ?s a cd:Session }") for _ in range(3)]
    finally:
        out, err = writer.communicate(timeout=600)
    assert writer.returncode in (0, 1), err
    assert busy or "load:" in second.stderr  # refused while the first was writing (or it had finished)
    for proc in answers:
        assert proc.returncode == 0, proc.stderr
        assert int(rows(proc)[0]["n"]) in (5, 405)  # the snapshot before or after, never between
    final = rows(chemoden("query", "--store", copy, "--format", "json",
                          "SELECT (COUNT(?s) AS ?n) WHERE { ?s a cd:Session }", check=0))
    assert final[0]["n"] == "405"


def test_load_errors_are_records_not_losses(tmp_path):
    good = json.loads((HISTORY / "p1001-2026-01-12-neck.json").read_text())
    lines = [json.dumps(good), json.dumps(dict(good, id="bad-date", date="2026-02-30")), "{not json"]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    store = tmp_path / "s"
    proc = chemoden("load", path, "--store", store, "--jobs", "1", check=2)
    assert "1 coded" in proc.stderr and "2 failed" in proc.stderr
    errors = [json.loads(x) for x in (store / "load-errors.jsonl").read_text().splitlines()]
    assert [e["record"] for e in errors] == [2, 3] and errors[0]["error"]["field"] == "date"


def test_store_refuses_a_folder_that_is_not_one(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    proc = chemoden("load", HISTORY, "--store", tmp_path, check=2)
    assert "not empty and not a Chemoden store" in proc.stderr
    assert chemoden("query", "graphs", "--store", tmp_path / "nowhere", check=2).stderr.count("\n") == 1


def test_installed_from_anywhere_uses_the_store(store, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = chemoden("query", "codes-by-month", "--store", store, "--format", "csv", cwd=tmp_path, env=env, check=0)
    assert "2026-01,64616" in proc.stdout.replace("\r", "")


def test_serve_answers_from_the_store(store, tmp_path):
    import urllib.parse
    import urllib.request

    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "reasoner", "serve", "--port", "0", "--store", str(store),
                                 "--workers", "1", "--long-workers", "1"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    try:
        url, deadline = None, time.monotonic() + 120
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            for line in log.read_text().splitlines():
                if "SPARQL endpoint http://" in line:
                    url = line.split("SPARQL endpoint ")[1].split()[0]
            time.sleep(0.1)
        assert url is not None, log.read_text()
        status = json.loads(urllib.request.urlopen(url.rsplit("/sparql", 1)[0] + "/status", timeout=30).read())
        assert status["sessions"] == 5
        query = "SELECT ?id WHERE { ?s cd:hasConflict ?f ; cd:identifier ?id . ?f cd:rule 'duplicate-service' }"
        request = urllib.request.Request(url + "?" + urllib.parse.urlencode({"query": query}),
                                         headers={"Accept": "application/sparql-results+json"})
        answer = json.loads(urllib.request.urlopen(request, timeout=30).read())
        ids = {b["id"]["value"] for b in answer["results"]["bindings"]}
        assert ids == {"p1002-2026-03-02-arm", "p1002-2026-03-02-arm-entered-twice"}
        # FROM a session's graph: the store is asked whether the graph exists
        graph = "https://w3id.org/chemoden/graph/session/p1001-2026-01-12-neck/result"
        request = urllib.request.Request(url + "?" + urllib.parse.urlencode(
            {"query": f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}"}),
            headers={"Accept": "application/sparql-results+json"})
        n = json.loads(urllib.request.urlopen(request, timeout=30).read())["results"]["bindings"][0]["n"]["value"]
        assert int(n) > 0
    finally:
        proc.terminate()
        proc.wait(30)


def test_resume_skips_what_the_store_holds(store, tmp_path):
    copy = _copy_store(store, tmp_path)
    docs = [json.loads(p.read_text()) for p in sorted(HISTORY.glob("*.json"))]
    docs.append(dict(docs[0], id="p1001-2026-06-01-neck", date="2026-06-01"))
    path = tmp_path / "again.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    proc = chemoden("load", path, "--store", copy, "--resume", "--jobs", "1")
    assert "1 coded" in proc.stderr and "5 already in the store (resumed)" in proc.stderr, proc.stderr
    assert "the store holds 6 sessions" in proc.stderr


def test_the_loads_nquads_text_holds_the_graphs_as_quads(ontology):
    """A load's workers write each session's graphs as N-Quads text (engines/backend.py: nt):
    read back, the same quads the rdflib triples make through to_quads, however odd a literal."""
    import pyoxigraph as ox
    from rdflib import BNode, Literal, URIRef
    from rdflib.namespace import XSD

    from reasoner.coding.entry import Coder
    from reasoner.engines.backend import nt, nt_line, to_quads
    from reasoner.intake.files import sources
    from reasoner.surfaces.dataset import ontology_graphs, result_graphs

    def parsed(lines: list[str]) -> set:
        return set(ox.parse(input="".join(f"{line} .\n" for line in lines).encode(), format=ox.RdfFormat.N_TRIPLES))

    odd = [(URIRef("https://example.org/s"), URIRef("https://example.org/p"), o)
           for o in (Literal('say "hi"\\ \n\r\t end'), Literal("x", lang="EN-gb"), Literal("5", datatype=XSD.string),
                     Literal(5), Literal(2.5), Literal("é ✓"), BNode("b1"), URIRef("https://example.org/é"))]
    assert parsed([nt_line(t) for t in odd]) == set(to_quads(odd))
    # refused, as to_quads refuses them: the store's parser reads the text without checking it
    for bad in (URIRef("https://example.org/a b"), Literal("x", lang="abcdefghijk"), BNode("a b")):
        with pytest.raises(ValueError):
            to_quads([(URIRef("https://example.org/s"), URIRef("https://example.org/p"), bad)])
        with pytest.raises(ValueError):
            nt(bad)

    known = ontology_graphs(ontology)[2]
    known_lines = {nt_line(t) for t in known}
    outcomes = list(Coder(ontology).code(sources([str(HISTORY)])))
    assert outcomes and all(o.error is None for o in outcomes)
    for outcome in outcomes:
        terms = result_graphs(outcome.results[0], known)
        text = result_graphs(outcome.results[0], known_lines, nt_line)
        for part in terms:
            assert len(text[part]) == len(terms[part]), part
            assert parsed(text[part]) == set(to_quads(terms[part])), part


# -- procedure notes ---------------------------------------------------------------------------

NOTES = ROOT / "tests" / "notes"
CLEAN_NOTES = ["cd-soap-botox-emg", "table-cd-pipes-botox-emg"]  # read with nothing unresolved
UNSETTLED_NOTE = "table-csv-arm-leg-hamstrings"  # 'Hamstrings' at line 18, column 1: which hamstring?


def _notes_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    for name in CLEAN_NOTES + [UNSETTLED_NOTE]:
        shutil.copy(NOTES / f"{name}.txt", folder)
    return folder


def _session_quads(store: Path, tmp_path: Path, name: str) -> dict[str, set]:
    """Every session graph of the store (graph name -> its quads as text), through `export`."""
    import pyoxigraph as ox

    out = tmp_path / f"{name}.nq"
    chemoden("export", "--store", store, "--format", "nquads", "-o", out, check=0)
    graphs: dict[str, set] = {}
    for quad in ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS):
        if "/graph/session/" in str(quad.graph_name):
            graphs.setdefault(quad.graph_name.value, set()).add(f"{quad.subject} {quad.predicate} {quad.object}")
    return graphs


def test_load_of_notes_stores_what_extract_reads_and_recode_reads_the_notes_again(tmp_path):
    """`chemoden load` of a folder of notes: each note's text is the stored input, its asserted
    graph the session `chemoden extract` gives (with the note's annotations), the note left
    unresolved reported with its line and column (not lost, not stored); `--recode` reads the
    stored notes again into the same graphs."""
    import pyoxigraph as ox

    folder, store = _notes_folder(tmp_path), tmp_path / "store"
    load = chemoden("load", folder, "--store", store, "--jobs", "1", check=2)
    assert "3 records, 2 coded" in load.stderr and "1 failed" in load.stderr, load.stderr
    assert "line 18, column 1" in load.stderr and "Hamstrings" in load.stderr
    (error,) = [json.loads(x) for x in (store / "load-errors.jsonl").read_text().splitlines()]
    assert error["source"].endswith(f"{UNSETTLED_NOTE}.txt") and error["error"]["field"] == "line 18, column 1"
    assert "semitendinosus" in error["error"]["message"]
    assert json.loads((store / "chemoden-store.json").read_text())["sessions"] == 2

    stored = _session_quads(store, tmp_path, "loaded")
    base = "https://w3id.org/chemoden/graph/session/"
    assert {g.removeprefix(base).rsplit("/", 1)[0] for g in stored} == set(CLEAN_NOTES)
    # the session extract reads, as the store keeps it (Oxigraph writes numbers in their canonical form)
    extract = chemoden("extract", "--format", "turtle", *[folder / f"{n}.txt" for n in CLEAN_NOTES], check=0)
    extracted = ox.Store()
    extracted.load(extract.stdout.encode(), format=ox.RdfFormat.TURTLE)
    asserted = set().union(*(stored[f"{base}{n}/asserted"] for n in CLEAN_NOTES))
    assert {f"{q.subject} {q.predicate} {q.object}" for q in extracted} == asserted
    assert any("oa#TextQuoteSelector" in q for q in asserted)  # the note's annotations are stored
    # the input is the note as written
    for name in CLEAN_NOTES:
        given = {q.split(" ", 2)[1]: q.split(" ", 2)[2] for q in stored[f"{base}{name}/input"]}
        assert given["<https://w3id.org/chemoden#inputFormat>"] == '"text"'
        text = (NOTES / f"{name}.txt").read_text(encoding="utf-8")
        assert given["<https://w3id.org/chemoden#inputDocument>"] == str(ox.Literal(text))
    raw = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
    assert b"412098" in raw and b"004512" in raw  # the notes' record numbers, as the test below looks for them

    recode = chemoden("load", "--store", store, "--recode", "--jobs", "1", check=0)
    assert "2 records, 2 coded (2 replaced" in recode.stderr and "0 failed" in recode.stderr, recode.stderr
    assert _session_quads(store, tmp_path, "recoded") == stored


def test_a_keyed_load_of_notes_keeps_no_word_of_them(tmp_path):
    """With a patient key, a note naming the patient is kept as the session read from it (the
    identifier keyed), without its annotations (their quotes are the note's words): the record
    number appears nowhere in the store, and a recode gives the same graphs."""
    folder, store = _notes_folder(tmp_path), tmp_path / "keyed"
    key = tmp_path / "key.txt"
    key.write_text("a3f1c9d2e8b7a6f5c4d3e2f1a0b9c8d7\n")
    chemoden("load", folder, "--store", store, "--patient-key", key, "--jobs", "1", check=2)
    raw = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
    assert b"412098" not in raw and b"004512" not in raw  # the notes' record numbers (found unkeyed: above)
    stored = _session_quads(store, tmp_path, "keyed")
    assert len(stored) == 2 * 4 and not any("oa#" in q for quads in stored.values() for q in quads)
    chemoden("load", "--store", store, "--recode", "--patient-key", key, "--jobs", "1", check=0)
    assert _session_quads(store, tmp_path, "keyed-recoded") == stored
