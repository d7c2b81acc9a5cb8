"""A short fuzzing run (the long one is `make fuzz`): no generated or mutated input crashes, no
mutated procedure note either, and the command line ends the worst notes in input errors."""

import io
import re
from pathlib import Path

import pytest
from fuzzing import NOTES, run, run_notes


@pytest.mark.xdist_group("fuzz")
def test_no_crash_on_300_generated_and_mutated_inputs():
    report = run(300, seed=3, stream=io.StringIO())
    assert report["inputs"] >= 250
    assert report["coded"] and report["input_errors"]  # both kinds of outcome were exercised
    assert report["several_errors"]  # and sessions with several input errors, reported at once
    assert report["crash_list"] == []


@pytest.mark.xdist_group("fuzz")
def test_no_crash_on_mutated_notes(ontology):
    """40 notes through extract (JSON, table, Turtle) and reading for code; every 8th coded."""
    report = run_notes(40, seed=3, stream=io.StringIO(), code_every=8, ontology=ontology)
    assert report["inputs"] == 40
    assert report["coded"] and report["read"] and report["input_errors"]  # every outcome exercised
    assert report["crash_list"] == [], report["crash_list"][0][2]


WORST = {"empty.txt": b"", "blank.txt": b" \n\t\r\n", "header.txt": b"Muscle | Side | Units\n",
         "rule.txt": b"Muscle | Side | Units\n---|---|---\n", "binary.txt": bytes(range(256)),
         "controls.txt": b"\x00\x07\x1b Left SCM 40 U\x0b\x0c", "huge-number.txt": b"Left biceps 5 U x " + b"9" * 400}


def test_the_command_line_ends_the_worst_notes_in_input_errors(tmp_path, capsys):
    """`chemoden extract` and `code` on notes that are no notes: exit 2 (not 4, an internal error),
    a line for each note naming it and, where the note gave a value, the place."""
    from reasoner.cli import main

    for name, data in WORST.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_bytes(NOTES[0].read_bytes())
    files = sorted(str(p) for p in tmp_path.iterdir())
    assert main(["extract", *files]) == 2
    extract = capsys.readouterr()
    assert main(["code", *files]) == 2
    code = capsys.readouterr()
    for out in (extract, code):
        assert "Traceback" not in out.err and "internal error" not in out.err, out.err
    assert f"chemoden: {tmp_path / 'binary.txt'}: not UTF-8 text (byte 128)" in extract.err.splitlines()
    assert len(extract.out.splitlines()) == len(files) - 1  # a session for every note but the bytes
    errors = code.err.splitlines()
    assert {Path(line.split(": ")[1]).name for line in errors} == set(WORST) - {"controls.txt"}
    # extract refuses the notes code refuses (after printing what it read)
    assert {Path(line.split(": ")[1]).name for line in extract.err.splitlines()} == set(WORST) - {"controls.txt"}
    for line in errors:  # the place in the note where it gave a value, else what is wrong with the whole note
        assert re.search(r"\(line \d+, column \d+ of the note\)$|: empty input$|: not UTF-8 text \(byte \d+\)$"
                         r"|: injections: no injection given today", line), line
    assert "Session controls" in code.out and "Session good" in code.out  # the readable ones coded
