"""Every session fixture in tests/cases codes to its expected lines and conflicts.

A fixture is {"description", "source", "session", "profile"?, "expected": {"lines": [...],
"conflicts": [rule ids], "notes": [substrings]?, "absent_notes": [substrings no note may
contain]?, "because": {code: [injection ids]}?}}.
"""

import pytest
from conftest import CASES, line_key, load_case

from reasoner import code_json


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path, ontology):
    case = load_case(path)
    expected = case["expected"]
    result = code_json(case["session"], ontology, profile=case.get("profile"))
    got = sorted(line_key(ln) for ln in result.lines)
    want = sorted(line_key(ln) for ln in expected["lines"])
    assert got == want, f"{case['description']}\n{result.to_table()}"
    assert sorted({c.rule for c in result.conflicts}) == sorted(set(expected.get("conflicts", []))), result.to_table()
    for fragment in expected.get("notes", []):
        assert any(fragment.lower() in n.message.lower() for n in result.notes), (fragment, result.to_table())
    for fragment in expected.get("absent_notes", []):
        assert not any(fragment.lower() in n.message.lower() for n in result.notes), (fragment, result.to_table())
    for code, ids in expected.get("because", {}).items():
        lines = [ln for ln in result.lines if ln.code == code]
        assert lines, f"no {code} line"
        assert sorted({i for ln in lines for i in ln.because}) == sorted(ids), result.to_table()
