"""`chemoden batch`: one output record per input record, in order; error records; resume."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from errors_matrix import several_cases

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


def run(*args):
    return subprocess.run([sys.executable, "-m", "reasoner", "batch", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


@pytest.fixture(scope="module")
def batch_input(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "in.jsonl"
    lines = [json.dumps(json.loads(p.read_text())) for p in EXAMPLES[:4]]
    lines.insert(1, '{"id": "bad-muscle", "injections": [{"muscle": "bicep femurs", "side": "left"}]}')
    lines.insert(3, "{not json")
    lines.append("")  # blank lines are not records
    lines.append('{"id": "last", "injections": [{"muscle": "procerus"}]}')
    path.write_text("\n".join(lines) + "\n")
    return path


def records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_record_in_order_with_error_records(batch_input, tmp_path):
    out = tmp_path / "out.jsonl"
    proc = run(str(batch_input), "-o", str(out), "--jobs", "2", "--quiet")
    assert proc.returncode == 2, proc.stderr  # a record failed
    got = records(out)
    assert len(got) == 7
    assert got[1]["record"] == 2 and got[1]["session"] == "bad-muscle"
    assert got[1]["error"]["field"] == "injections[0].muscle" and "bicep femurs" in got[1]["error"]["message"]
    assert got[3]["record"] == 4 and got[3]["session"] is None and "invalid JSON" in got[3]["error"]["message"]
    assert got[-1]["session"] == "last" and got[-1]["lines"][0]["code"] == "64612"
    expected_ids = [json.loads(p.read_text())["id"] for p in EXAMPLES[:4]]
    assert [r["session"] for r in got if "lines" in r][:4] == expected_ids
    assert "7 records" in proc.stderr and "2 failed" in proc.stderr
    assert "\r[" not in proc.stderr  # no progress bar when not a terminal


def test_a_record_breaking_the_session_shapes_is_an_error_record(tmp_path):
    jsonld = {"@context": {"@vocab": "https://w3id.org/chemoden#", "injections": "hasInjection",
                           "muscle": "muscleName", "id": "identifier"},
              "id": "typo", "injections": [{"id": "i1", "muscle": "procerus", "sidee": "left"}]}
    path = tmp_path / "in.jsonl"
    path.write_text(EXAMPLES[0].read_text().replace("\n", " ") + "\n" + json.dumps(jsonld) + "\n")
    out = tmp_path / "out.jsonl"
    assert run(str(path), "-o", str(out), "--jobs", "1", "--quiet").returncode == 2
    good, bad = records(out)
    assert "lines" in good
    assert bad["error"]["field"] == 'injection "i1" cd:sidee' and "unknown field" in bad["error"]["message"]


def test_an_error_record_holds_every_error_of_its_session(tmp_path):
    """`error` is the first, as before; `errors` all of them, in the order found."""
    cases = several_cases()
    path = tmp_path / "in.jsonl"
    lines = [json.dumps(json.loads(c.path.read_text())) for c in cases]
    path.write_text("\n".join(lines + [json.dumps(json.loads(EXAMPLES[0].read_text()))]) + "\n")
    out = tmp_path / "out.jsonl"
    proc = run(str(path), "-o", str(out), "--jobs", "1", "--quiet")
    assert proc.returncode == 2, proc.stderr
    *bad, good = records(out)
    assert "lines" in good
    for case, record in zip(cases, bad, strict=True):
        assert [e["field"] for e in record["errors"]] == [field for field, _ in case.errors]
        assert all(fragment in e["message"] for e, (_, fragment) in zip(record["errors"], case.errors))
        assert record["error"] == record["errors"][0]
    assert f"(and {len(cases[0].errors) - 1} more)" in proc.stderr  # the summary counts the rest


def test_same_objects_as_code_json(batch_input, tmp_path):
    out = tmp_path / "out.jsonl"
    run(str(batch_input), "-o", str(out), "--jobs", "1", "--quiet")
    first = subprocess.run([sys.executable, "-m", "reasoner", "code", "--format", "json", str(EXAMPLES[0])],
                           capture_output=True, text=True, cwd=ROOT).stdout.strip()
    assert out.read_text().splitlines()[0] == first


def test_resume_skips_what_is_done_and_mends_a_torn_line(batch_input, tmp_path):
    full = tmp_path / "full.jsonl"
    run(str(batch_input), "-o", str(full), "--jobs", "2", "--quiet")
    part = tmp_path / "part.jsonl"
    lines = full.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:3]) + lines[3][:20])  # interrupted in the middle of record 4
    proc = run(str(batch_input), "-o", str(part), "--resume", "--quiet")
    assert part.read_text() == full.read_text()
    assert "3 already done" in proc.stderr


def test_folder_input_and_exit_1_on_error_findings(tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "audit-53m-claim-as-printed.json", folder / "a.json")
    shutil.copy(ROOT / "examples" / "larynx-spasmodic-dysphonia.ttl", folder / "b.ttl")
    out = tmp_path / "out.jsonl"
    proc = run(str(folder), "-o", str(out), "--quiet")
    assert proc.returncode == 1, proc.stderr
    got = records(out)
    assert [r["session"] for r in got] == ["audit-53m-claim-as-printed", "larynx-spasmodic-dysphonia"]


def test_dask_local_cluster_equals_the_local_run(tmp_path):
    pytest.importorskip("distributed")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    path = tmp_path / "gen.jsonl"
    docs = [json.dumps(d) for d in generate(40, seed=11)]
    docs.insert(7, '{"id": "broken", "injections": []}')
    path.write_text("\n".join(docs) + "\n")
    local, dask = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    run(str(path), "-o", str(local), "--jobs", "1", "--chunk-size", "6", "--quiet")
    proc = run(str(path), "-o", str(dask), "--jobs", "2", "--chunk-size", "6", "--dask", "local", "--quiet")
    assert proc.returncode == 2, proc.stderr  # the broken record
    assert local.read_text().splitlines() == dask.read_text().splitlines()
    assert json.loads(dask.read_text().splitlines()[7])["error"]["field"] == "injections"


def test_a_killed_batch_resumes_to_the_uninterrupted_output(tmp_path):
    """SIGKILL in the middle of a batch, then --resume: the same bytes as a run never stopped."""
    import os
    import signal
    import time

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in generate(240, seed=11)))
    full = tmp_path / "full.jsonl"
    assert run(str(source), "-o", str(full), "--jobs", "1", "--quiet", "--chunk-size", "4").returncode in (0, 1)

    part = tmp_path / "part.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "reasoner", "batch", str(source), "-o", str(part), "--jobs", "2",
                             "--quiet", "--chunk-size", "4"], cwd=ROOT, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not part.exists() or part.read_bytes().count(b"\n") < 40):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the parent and its workers, with no chance to tidy up
    proc.wait()
    written = part.read_bytes().count(b"\n")
    assert 40 <= written < 240, written
    resumed = run(str(source), "-o", str(part), "--resume", "--quiet")
    assert resumed.returncode in (0, 1), resumed.stderr
    assert part.read_bytes() == full.read_bytes()


def test_an_unwritable_output_is_an_input_error(batch_input, tmp_path):
    proc = run(str(batch_input), "-o", str(tmp_path / "no-such-folder" / "out.jsonl"), "--quiet")
    assert proc.returncode == 2
    assert "--output" in proc.stderr and "Traceback" not in proc.stderr
