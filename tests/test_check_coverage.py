"""`chemoden check` and the coverage profiles: every ICD-10-CM code a coverage rule accepts must be a
billable code of the code set simple-icd-10-cm carries (SPARQL cannot ask the code set, so the check
is Python: reasoner/knowledge/check.py `_icd10cm`). Each case breaks a copy of the shipped ontology
(as tests/test_check.py does) and expects the problem at the line of the rule that names the
code; the check reads the coverage triples of any file, so a second payer's profile is checked too."""

import shutil
import sys
from pathlib import Path

import pytest

from reasoner.knowledge import check

ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology"
CERVICAL = 'cd:acceptsIcd10cm "G24.3" ;'


def broken_copy(tmp_path: Path, mutations) -> Path:
    """A copy of the shipped ontology with each (file, text, replacement) applied once; the text must
    occur, so a mutation that no longer applies fails loudly (as in tests/test_check.py)."""
    folder = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY, folder)
    for name, old, new in mutations:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"mutation no longer applies: {old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def icd_problems(folder: Path) -> list[str]:
    return [str(p) for p in check._icd10cm(check.Folder(folder))]


def line_naming(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def test_the_shipped_coverage_codes_are_all_billable():
    assert icd_problems(ONTOLOGY) == []


@pytest.mark.parametrize("bad,fragments", [
    ('"G35"', ["'G35' is not billable", "category whose billable codes are G35.A", "(8 in all)", "cd:acceptsIcd10cmUnder"]),
    ('"G24.33"', ["'G24.33' is not an ICD-10-CM code", "simple-icd-10-cm"]),
    ('"G243"', ["'G243' is not written as an ICD-10-CM code", "write it dotted and in upper case, 'G24.3'"]),
    ('"g24.3"', ["'g24.3' is not written as an ICD-10-CM code", "'G24.3'"]),
    ('"A00-B99"', ["'A00-B99' is not written as an ICD-10-CM code"]),
], ids=["category", "unknown", "undotted", "lower-case", "chapter-range"])
def test_a_code_that_is_not_billable_is_refused_at_its_line(bad, fragments, tmp_path):
    folder = broken_copy(tmp_path, [("coverage.ttl", CERVICAL, f"cd:acceptsIcd10cm {bad} ;")])
    line = line_naming(folder / "coverage.ttl", f"cd:acceptsIcd10cm {bad} ;")
    found = icd_problems(folder)
    assert len(found) == 1, found
    assert found[0].startswith(f"{folder / 'coverage.ttl'}:{line}: cd:cov-cervical-dystonia: cd:acceptsIcd10cm {bad.replace(chr(34), chr(39))}")
    assert found[0].endswith("[qc icd10cm-code]")
    assert all(f in found[0] for f in fragments), found[0]


@pytest.mark.parametrize("under,fragment", [
    ('"G43.7"', None),
    ('"G24.3"', "'G24.3' is a billable code, not a category: accept it with cd:acceptsIcd10cm"),
    ('"G99.99"', "'G99.99' is not an ICD-10-CM code"),
    ('"G20-G26"', "is not written as an ICD-10-CM code"),
], ids=["category", "billable-code", "unknown", "block"])
def test_a_whole_category_must_be_a_category(under, fragment, tmp_path):
    folder = broken_copy(tmp_path, [("coverage.ttl", CERVICAL, f"{CERVICAL}\n    cd:acceptsIcd10cmUnder {under} ;")])
    found = icd_problems(folder)
    if fragment is None:
        assert found == []
    else:
        line = line_naming(folder / "coverage.ttl", f"cd:acceptsIcd10cmUnder {under} ;")
        assert len(found) == 1 and found[0].startswith(f"{folder / 'coverage.ttl'}:{line}: ") and fragment in found[0], found


SECOND_PAYER = """cd:otherPayerCoverage a cd:CoverageProfile ; cd:name "other-payer" ;
    rdfs:label "Another payer's article" ;
    cd:coverageRule cd:cov-other-migraine ;
    dcterms:source "docs/sources.md#coverage-rule-codes" .

cd:cov-other-migraine a cd:CoverageRule ; rdfs:label "chronic migraine" ;
    cd:supportsCode cd:cpt64615 ;
    cd:acceptsIcd10cm "G43.709", "G43.7" ;
    dcterms:source "docs/sources.md#coverage-rule-codes" ."""


def test_the_check_reads_every_coverage_profile_whatever_its_file(tmp_path):
    folder = broken_copy(tmp_path, [])
    (folder / "coverage-other.ttl").write_text(
        "@prefix cd: <https://w3id.org/chemoden#> .\n@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix dcterms: <http://purl.org/dc/terms/> .\n\n" + SECOND_PAYER + "\n", encoding="utf-8")
    found = icd_problems(folder)
    line = line_naming(folder / "coverage-other.ttl", '"G43.7" ;')
    assert found == [f"{folder / 'coverage-other.ttl'}:{line}: cd:cov-other-migraine: cd:acceptsIcd10cm 'G43.7' is not billable: "
                     "it is a category whose billable codes are G43.701, G43.709, G43.711, G43.719; list the ones the payer "
                     "document accepts, or, if it accepts the whole category, use cd:acceptsIcd10cmUnder [qc icd10cm-code]"], found


def test_chemoden_check_runs_it_in_the_qc_step_and_exits_1(tmp_path, capsys):
    from reasoner.cli import main

    folder = broken_copy(tmp_path, [("coverage.ttl", CERVICAL, 'cd:acceptsIcd10cm "G35" ;')])
    assert any("[qc icd10cm-code]" in str(p) for p in check.run(folder, steps=("qc",)))
    assert not any("[qc icd10cm-code]" in str(p) for p in check.run(folder, steps=("shapes",)))
    assert main(["check", str(folder)]) == 1
    assert "'G35' is not billable" in capsys.readouterr().out


def test_without_the_code_set_the_check_says_what_to_install(tmp_path, monkeypatch):
    from reasoner.knowledge import icd10cm

    monkeypatch.setitem(sys.modules, "simple_icd_10_cm", None)  # import fails as if not installed
    monkeypatch.setattr(icd10cm, "library_version", lambda: "missing")  # and no cache of its code set
    monkeypatch.setattr(icd10cm, "cache_path", lambda version=None: tmp_path / "no-cache.txt")
    found = icd_problems(ONTOLOGY)
    assert len(found) == 1 and "simple-icd-10-cm is not installed" in found[0] and "[qc icd10cm-code]" in found[0]


def test_a_folder_without_coverage_rules_needs_no_code_set(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "simple_icd_10_cm", None)
    folder = broken_copy(tmp_path, [])
    (folder / "coverage.ttl").unlink()
    assert icd_problems(folder) == []


def test_a_code_on_a_continuation_line_is_reported_at_that_line(tmp_path):
    """The strabismus rule lists its codes over several lines: the problem names the line of the code."""
    folder = broken_copy(tmp_path, [("coverage.ttl", '"H50.00", ', '"H50.0", ')])
    line = line_naming(folder / "coverage.ttl", '"H50.0", ')
    found = icd_problems(folder)
    assert len(found) == 1 and found[0].startswith(f"{folder / 'coverage.ttl'}:{line}: cd:cov-strabismus: "), found
    assert line > line_naming(folder / "coverage.ttl", "cd:cov-strabismus a cd:CoverageRule")
