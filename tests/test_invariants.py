"""A broken ontology is refused before it codes: a copy breaking a billing invariant stops every
command that codes with exit 3 and the problems `chemoden check` reports (FILE:LINE first); an
engine whose optional package is missing is one clear line and exit 2, never an internal error."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from rdflib import Graph

from reasoner import Coder, OntologyError
from reasoner.knowledge import cache, check, verdict

ROOT = Path(__file__).resolve().parent.parent
SESSION = {"id": "s1", "injections": [{"muscle": "left digastric"}, {"muscle": "left FCR"}]}

# (name, file, text as shipped, text in the broken copy, what the problem names)
BREACHES = [
    ("a neck muscle given a second billing region", "muscles.ttl",
     '    skos:altLabel "digastricus" ;\n    cd:billingRegion cd:Neck ;',
     '    skos:altLabel "digastricus" ;\n    cd:billingRegion cd:Neck, cd:Trunk ;',
     "cd:digastric: must have exactly one billing region"),
    ("an abbreviation given to a second muscle", "muscles.ttl",
     '    skos:altLabel "FCU" ;', '    skos:altLabel "FCU", "FCR" ;',
     "'fcr' belongs to cd:flexorCarpiRadialis, cd:flexorCarpiUlnaris"),
    ("a muscle off CPT's trunk list billed in the trunk", "muscles.ttl",
     "    cd:billingRegion cd:NoSpecificCode ;\n    skos:exactMatch obo:UBERON_0001220",
     "    cd:billingRegion cd:Trunk ;\n    skos:exactMatch obo:UBERON_0001220",
     "cd:quadratusLumborum: is billed in the region 'trunk', whose muscles are CPT's closed list"),
    ("a rule naming a code the ontology does not declare", "rules/10-neck-64616.rq",
     "cd:cpt64616", "cd:cpt64661", "names cd:cpt64661, which the ontology does not declare"),
]


def _copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "ontology"
    shutil.copytree(ROOT / "ontology", copy)
    path = copy / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{file} no longer holds the text this test breaks"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return copy


@pytest.mark.parametrize("name,file,old,new,problem", BREACHES, ids=[b[0] for b in BREACHES])
def test_a_copy_breaking_a_billing_invariant_is_refused(tmp_path, monkeypatch, name, file, old, new, problem):
    monkeypatch.setenv("CHEMODEN_CACHE", str(tmp_path / "cache"))
    copy = _copy(tmp_path, file, old, new)
    found = [str(p) for p in check.invariants(copy)]
    assert any(problem in p for p in found), found  # `chemoden check` prints these lines: the test below
    with pytest.raises(OntologyError) as refused:
        Coder(copy)
    assert refused.value.exit_code == 3 and problem in str(refused.value)


def test_the_cli_refuses_a_broken_copy_with_exit_3_and_check_s_line(tmp_path):
    name, file, old, new, problem = BREACHES[0]
    copy = _copy(tmp_path, file, old, new)
    session = tmp_path / "s.json"
    session.write_text(json.dumps(SESSION))
    env = dict(os.environ, CHEMODEN_CACHE=str(tmp_path / "cache"))
    checked = subprocess.run([sys.executable, "-m", "reasoner", "check", str(copy)], capture_output=True, text=True,
                             cwd=ROOT, env=env, timeout=600)
    line = next(ln for ln in checked.stdout.splitlines() if problem in ln)
    for command in (["code", str(session)], ["batch", str(session), "-o", str(tmp_path / "out.jsonl")],
                    ["query", "code-list"]):
        proc = subprocess.run([sys.executable, "-m", "reasoner", *command, "--ontology", str(copy)], capture_output=True,
                              text=True, cwd=ROOT, env=env, timeout=600)
        assert proc.returncode == 3, (command, proc.stderr)
        assert line in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stdout == ""


def test_the_verdict_is_kept_by_content_hash(tmp_path, monkeypatch, ontology):
    monkeypatch.setenv("CHEMODEN_CACHE", str(tmp_path))
    monkeypatch.setattr(verdict, "_CLEAN", set())
    verdict.verify(ontology)
    kept = list(tmp_path.glob("verdict-*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == {"problems": []}
    monkeypatch.setattr(verdict, "_CLEAN", set())
    monkeypatch.setattr(check, "invariants", lambda directory: pytest.fail("checked again"))
    verdict.verify(ontology)  # read from the disk, not checked again


def _entries(folder: Path, pattern: str, count: int, start: float) -> list[Path]:
    """`count` cache entries, the first the least recently used (modification times a minute apart)."""
    made = []
    for n in range(count):
        path = folder / pattern.replace("*", f"{n:032x}")
        path.write_text("{}", encoding="utf-8")
        os.utime(path, (start + 60 * n, start + 60 * n))
        made.append(path)
    return made


def test_the_cache_keeps_only_the_most_recently_used_entries_of_each_kind(tmp_path, monkeypatch):
    """Every edit of an ontology copy leaves a closure and a verdict: a write prunes its kind to the
    cache.KEEP most recently used, and reading an entry counts as using it."""
    monkeypatch.setenv("CHEMODEN_CACHE", str(tmp_path))
    closures = _entries(tmp_path, "closure-*-owlrl.nt", cache.KEEP + 4, 1_000_000)
    verdicts = _entries(tmp_path, "verdict-*.json", cache.KEEP + 2, 1_000_000)
    other = tmp_path / "notes.txt"
    other.write_text("not an entry", encoding="utf-8")
    cache.used(closures[0])  # the oldest, just read: kept
    stand_in = SimpleNamespace(digest="f" * 64, closure=lambda engine: Graph())
    cache.closure(stand_in, "owlrl")  # a new closure written: the closures are pruned
    kept = sorted(tmp_path.glob("closure-*.nt"))
    assert len(kept) == cache.KEEP
    assert closures[0] in kept and tmp_path / f"closure-{'f' * 16}-owlrl.nt" in kept
    assert not any(path in kept for path in closures[1:6])  # the least recently used went
    assert sorted(tmp_path.glob("verdict-*.json")) == verdicts and other.exists()  # other kinds untouched
    verdict._keep(tmp_path / f"verdict-{'e' * 32}.json", [])  # a new verdict: the verdicts are pruned
    kept = sorted(tmp_path.glob("verdict-*.json"))
    assert len(kept) == cache.KEEP and tmp_path / f"verdict-{'e' * 32}.json" in kept
    assert verdicts[0] not in kept and verdicts[-1] in kept and other.exists()


BLOCK = "import sys; sys.modules[{name!r}] = None; from reasoner.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.parametrize("engine,package", [("reasonable", "reasonable"), ("fast", "pyoxigraph")])
def test_an_engine_whose_package_is_missing_is_a_clear_exit_2(engine, package):
    proc = subprocess.run([sys.executable, "-c", BLOCK.format(name=package), "code", "--engine", engine,
                           str(ROOT / "examples" / "seed-63m-torticollis.json")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"chemoden: --engine: engine {engine!r} needs {package}, which is not installed: "
        "pip install 'chemoden[fast]' (or use --engine owlrl)"]
