"""A short fuzzing run (the long one is `make fuzz`): no generated or mutated input crashes."""

import io

import pytest
from fuzzing import run


@pytest.mark.xdist_group("fuzz")
def test_no_crash_on_300_generated_and_mutated_inputs():
    report = run(300, seed=3, stream=io.StringIO())
    assert report["inputs"] >= 250
    assert report["coded"] and report["input_errors"]  # both kinds of outcome were exercised
    assert report["several_errors"]  # and sessions with several input errors, reported at once
    assert report["crash_list"] == []
