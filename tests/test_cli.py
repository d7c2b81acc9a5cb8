"""The `chemoden` command as a user runs it: formats, exit codes, folders, stdin, errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from errors_matrix import several_cases
from rdflib import Graph

from reasoner import InputError, code_file
from reasoner.core.vocab import CD

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "reasoner", *args], capture_output=True, text=True,
                          input=stdin, timeout=300, cwd=ROOT)


def test_examples_folder_as_tables():
    proc = run("code", str(EXAMPLES))
    # the audit example's claim, as the article printed it, has error findings
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    sessions = [p for p in EXAMPLES.rglob("*") if p.suffix in (".json", ".ttl")]
    assert proc.stdout.count("\nSession ") + proc.stdout.startswith("Session ") == len(sessions)
    assert "64616" in proc.stdout and "CODE" in proc.stdout


def test_json_format_is_one_object_per_line():
    proc = run("code", "--format", "json", str(EXAMPLES / "seed-63m-torticollis.json"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["session"] == "seed-63m-torticollis" and doc["profile"] == "standard"
    assert {"code": "64616", "units": 1, "modifiers": ["50"]}.items() <= doc["lines"][0].items()
    assert doc["lines"][0]["because"] == ["i1", "i2", "i3", "i4", "i5"]
    assert set(doc) == {"session", "profile", "lines", "conflicts", "notes"}


def test_turtle_format_is_queryable_rdf():
    proc = run("code", "--format", "turtle", str(EXAMPLES / "seed-45f-both-arms.json"))
    assert proc.returncode == 0, proc.stderr
    g = Graph().parse(data=proc.stdout, format="turtle")
    rows = g.query("""PREFIX cd: <https://w3id.org/chemoden#>
        SELECT ?n ?u (COUNT(?inj) AS ?k) WHERE {
          ?l a cd:BillingLine ; cd:code/cd:notation ?n ; cd:units ?u ; cd:because ?inj }
        GROUP BY ?n ?u""")
    assert {(str(r.n), int(r.u), int(r.k)) for r in rows} == {("64644", 1, 5), ("64643", 1, 2), ("95874", 1, 7)}
    extremities = set(g.objects(None, CD.extremity))
    assert extremities == {CD.LeftUpperExtremity, CD.RightUpperExtremity}


def test_profile_option_and_unknown_profile():
    proc = run("code", "--format", "json", "--profile", "guidance-per-code", str(EXAMPLES / "seed-45f-both-arms.json"))
    doc = json.loads(proc.stdout)
    assert [ln["units"] for ln in doc["lines"] if ln["code"] == "95874"] == [2]
    bad = run("code", "--profile", "cheapest", str(EXAMPLES / "seed-45f-both-arms.json"))
    assert bad.returncode == 2 and "cheapest" in bad.stderr and "rt-lt" in bad.stderr


def test_stdin_and_exit_1_on_error_conflict():
    session = {"id": "mixed", "indication": "chronic migraine",
               "injections": [{"muscle": "procerus"}, {"muscle": "left sternocleidomastoid"}]}
    proc = run("code", "--format", "json", "-", stdin=json.dumps(session))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["rule"] for c in doc["conflicts"]] == ["excluded-code-pair"]
    assert doc["conflicts"][0]["severity"] == "error"
    assert doc["conflicts"][0]["codes"] == ["64615", "64616"]


def test_unknown_muscle_exits_2_with_suggestion(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"injections": [{"muscle": "sternocleidomastiod", "side": "left"},
                                              {"muscle": "bicep femurs", "side": "left"}]}))
    proc = run("code", str(bad))
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert "injections[1].muscle" in proc.stderr and "bicep femurs" in proc.stderr
    assert "biceps femoris" in proc.stderr


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("case", several_cases(), ids=lambda c: c.name)
def test_every_error_of_a_session_is_reported_at_once(case, fmt):
    """A line each on stderr, in the order found, whatever the format; stdout keeps results only."""
    path = case.path.relative_to(ROOT)
    proc = run("code", "--format", fmt, str(path))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == len(case.errors), proc.stderr
    for line, (field, fragment) in zip(lines, case.errors):
        assert line.startswith(f"chemoden: {path}: {field}: ") and fragment in line, (field, line)
    with pytest.raises(InputError) as info:  # the Python API: the first as before, all in `errors`
        code_file(case.path)
    assert [e.field for e in info.value.errors] == [field for field, _ in case.errors]
    assert (info.value.field, info.value.message) == (case.errors[0][0], info.value.errors[0].message)


def test_bad_file_does_not_stop_the_others(tmp_path):
    bad = tmp_path / "a-bad.json"
    bad.write_text("{not json")
    proc = run("code", "--format", "json", str(bad), str(EXAMPLES / "seed-60f-cervical-dystonia.json"))
    assert proc.returncode == 2
    assert "a-bad.json" in proc.stderr and "invalid JSON" in proc.stderr
    assert json.loads(proc.stdout)["session"] == "seed-60f-cervical-dystonia"


def test_missing_file():
    proc = run("code", "no-such-session.json")
    assert proc.returncode == 2 and "no-such-session.json" in proc.stderr and "not found" in proc.stderr


# owlrl, the slowest engine (20 s), in `make parity`
@pytest.mark.parametrize("engine", [pytest.param("owlrl", marks=pytest.mark.parity), "reasonable"])
def test_engines_agree_on_an_example(engine):
    proc = run("code", "--format", "json", "--engine", engine, str(EXAMPLES / "seed-53m-neck-and-trunk.json"))
    doc = json.loads(proc.stdout)
    assert [(ln["code"], ln["units"], ln["modifiers"]) for ln in doc["lines"]] == [
        ("64616", 1, ["50"]), ("64646", 1, []), ("95874", 1, [])]


def test_profiles_command_lists_every_profile():
    proc = run("profiles")
    assert proc.returncode == 0
    assert {line.split(":")[0].split()[0] for line in proc.stdout.splitlines()} == {"guidance-per-code", "interval-90-days", "rt-lt", "standard"}


def test_audit_command_prints_findings_with_corrected_lines():
    proc = run("audit", "--format", "json", str(EXAMPLES / "audit-53m-claim-as-printed.json"))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    rules = {c["rule"] for c in doc["conflicts"]}
    assert {"modifier-missing", "drug-units", "ndc-format", "syringe-not-separately-payable"} <= rules
    missing = [c for c in doc["conflicts"] if c["rule"] == "modifier-missing" and c["codes"] == ["64616"]]
    assert missing[0]["corrected"] == [{"code": "64616", "units": 1, "modifiers": ["50"]}]
    assert doc["billed"][0] == {"code": "64646", "units": 1, "modifiers": []}
    table = run("audit", str(EXAMPLES / "audit-53m-claim-as-printed.json")).stdout
    assert "documentation supports: 64616-50 x1" in table


def test_audit_needs_a_claim():
    proc = run("audit", str(EXAMPLES / "seed-63m-torticollis.json"))
    assert proc.returncode == 2 and "billed" in proc.stderr
