"""The bad-input matrix (tests/errors_matrix.py, docs/errors.md): every row is checked here.

For each kind of bad input: `chemoden code` exits as documented with one line naming the field
and the value (a line per error for a session with several), exactly the lines docs/errors.md
shows, no traceback, nothing fetched and nothing read outside the input (tests/guard.py); in one
batch over all of them, each is an error record naming the same fields while the good sessions
around them are coded; `POST /code` answers as documented with the same fields.
"""

import dataclasses
import os

import pytest
from errors_matrix import (
    ERRORS,
    GOOD,
    ROOT,
    batch_fields,
    documented,
    field_of,
    file_cases,
    guarded,
    made_cases,
    post_code,
    run_batch,
    run_code,
)

FILE_CASES = file_cases()
MADE = ["ten-megabyte-session", "ten-thousand-injections", "symlink-loop", "missing-file", "unknown-profile-option",
        "query-unknown-name", "query-syntax-error", "query-update", "query-service", "query-bad-session",
        "check-missing-folder", "check-broken-turtle", "batch-missing-input"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("made-errors")
    return folder, {c.name: c for c in made_cases(folder)}


@pytest.fixture(scope="module")
def docs():
    return documented()


def _case(name, made):
    folder, cases = made
    case = next((c for c in FILE_CASES if c.name == name), None) or cases[name]
    return case, folder


def test_the_matrix_has_every_case_and_at_least_thirty(docs, made):
    kinds = [c.kind for c in FILE_CASES] + [c.kind for c in made[1].values()]
    assert sorted(docs) == sorted(kinds)
    assert sorted(made[1]) == sorted(MADE)
    assert len(kinds) >= 30


@pytest.mark.parametrize("name", [c.name for c in FILE_CASES] + MADE)
def test_code_answers_as_documented(name, made, docs):
    case, folder = _case(name, made)
    proc = run_code(case, folder)
    assert "GUARD" not in proc.stderr, proc.stderr  # nothing fetched, nothing read outside the input
    assert "Traceback" not in proc.stderr
    assert proc.returncode == case.exit, proc.stderr
    if case.command == "code":
        assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == case.count, proc.stderr
    for fragment in case.fragments:
        assert fragment.lower() in proc.stderr.lower(), (fragment, lines)
    for line, (field, fragment) in zip(lines, case.errors):  # every error, in the order reported
        assert f": {field}: " in line and fragment in line, (field, fragment, line)
    row = docs[case.kind]
    assert row["exit"] == proc.returncode
    assert row["message"] == "\n".join(lines).replace(str(folder), "<tmp>"), "docs/errors.md is stale: regenerate it"


SEVERAL = [c.name for c in FILE_CASES if c.errors]


def test_the_matrix_has_sessions_with_several_errors():
    assert len(SEVERAL) >= 3 and all(len(c.errors) >= 2 for c in FILE_CASES if c.errors)


@pytest.mark.parametrize("name", SEVERAL)
def test_several_errors_with_format_json(name, made, docs):
    """`--format json` keeps stdout for results: the errors are the same stderr lines."""
    case, folder = _case(name, made)
    proc = run_code(dataclasses.replace(case, args=["--format", "json"]), folder)
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert proc.stderr.strip() == docs[case.kind]["message"]


@pytest.mark.xdist_group("errors-batch")
def test_batch_gives_each_bad_file_an_error_record_and_codes_the_rest(made, docs):
    folder, cases = made
    in_batch = [c for c in FILE_CASES + list(cases.values()) if c.in_batch]
    batch = run_batch(in_batch, folder)
    assert "GUARD" not in batch["proc"].stderr and "Traceback" not in batch["proc"].stderr
    assert batch["proc"].returncode == 2, batch["proc"].stderr
    assert len(batch["coded"]) == len(GOOD) * len(in_batch)  # nothing lost around the bad records
    assert all("lines" in r for r in batch["coded"])
    assert batch["files"] == len(batch["coded"]) + len(batch["errors"])
    for case in in_batch:
        record = batch["errors"].get(case.path.name)
        assert record is not None, case.name
        assert record["error"] == record["errors"][0] and len(record["errors"]) == case.count
        lines = docs[case.kind]["message"].replace("<tmp>", str(folder)).splitlines()
        for error, line in zip(record["errors"], lines, strict=True):
            got = error["field"]
            if got is None:
                assert field_of(line, case) is None, (case.name, line)
            else:  # the field `code` named: 'SOURCE: FIELD: message'
                assert line.endswith(f": {got}: {error['message']}"), (case.name, got, line)
        assert docs[case.kind]["batch"] == batch_fields(record)


POSTED = [c.name for c in FILE_CASES if c.is_session_file] + ["ten-thousand-injections", "ten-megabyte-session"]


@pytest.mark.parametrize("name", POSTED)
def test_post_code_answers_as_documented(name, made, docs, endpoint):
    """The same field and message as `chemoden code`, whatever the input kind."""
    case, folder = _case(name, made)
    status, answer = post_code(endpoint, case.path.read_bytes(), case.media_type)
    assert str(status) == docs[case.kind]["post"]
    assert 400 <= status < 500
    if status == 400:
        lines = docs[case.kind]["message"].replace("<tmp>", str(folder)).splitlines()
        assert answer["error"] == answer["errors"][0]
        for error, line in zip(answer["errors"], lines, strict=True):
            got, message = error["field"], error["message"]
            assert line.endswith(f": {got}: {message}" if got else f": {message}"), (got, message, line)


QUERIED = [c.name for c in FILE_CASES if c.is_session_file] + ["ten-thousand-injections"]


@pytest.fixture(scope="module")
def queried(made):
    """One `chemoden query session-lines` with every bad file as a --session (the good examples
    too): each bad one is left out with its line, the others answered."""
    folder, cases = made
    chosen = [_case(name, made)[0] for name in QUERIED]
    args = ["query", "session-lines"]
    for case in chosen:
        args += ["--session", os.path.relpath(case.path, ROOT) if case.path.is_relative_to(ROOT) else str(case.path)]
    for good in GOOD:
        args += ["--session", str(good.relative_to(ROOT))]
    proc = guarded(args, [ERRORS, folder, ROOT / "examples"])
    return proc, folder


@pytest.mark.parametrize("name", QUERIED)
def test_query_session_refuses_as_code_does(name, made, docs, queried):
    proc, folder = queried
    case, _ = _case(name, made)
    assert "GUARD" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.returncode == 2
    assert docs[case.kind]["query"] == "same"
    lines = [line.replace(str(folder), "<tmp>") for line in proc.stderr.splitlines()]
    for line in docs[case.kind]["message"].splitlines():
        assert line in lines
    for good in GOOD:  # the good sessions are still queried
        assert good.stem in proc.stdout


def test_the_fixture_folder_holds_only_cases():
    names = {c.name for c in FILE_CASES}
    for path in ERRORS.iterdir():
        stem = path.name[: -len(".expect.json")] if path.name.endswith(".expect.json") else path.stem
        assert stem in names, path


def test_the_guard_stops_a_read_outside_the_input_and_any_network_use(tmp_path):
    """So that 'no GUARD line' above means something."""
    import shutil
    import subprocess
    import sys

    from errors_matrix import ROOT, TESTS

    outside = tmp_path / "elsewhere.json"
    shutil.copy(GOOD[0], outside)
    read = subprocess.run([sys.executable, str(TESTS / "guard.py"), "code", str(outside)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert read.returncode == 98 and "read outside" in read.stderr
    import os
    import tempfile

    env = dict(os.environ, CHEMODEN_GUARD_ALLOW=tempfile.gettempdir())  # serve keeps its store in a temporary folder
    net = subprocess.run([sys.executable, str(TESTS / "guard.py"), "serve", "--port", "0"], capture_output=True,
                         text=True, timeout=120, cwd=ROOT, env=env)
    assert net.returncode == 99 and "network use" in net.stderr
