"""A maintainer adds a muscle the way ontology/README.md says (one block in muscles.ttl, in its
region's group), checks the copy, and codes a session that uses it."""

import shutil
from pathlib import Path

import pytest

from reasoner import InputError, code_json, load_ontology
from reasoner.knowledge import check

ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology"

# The block as ontology/README.md shows it: label, synonym, region, UBERON and FMA from the
# same row of qc/uberon-muscles.tsv (UBERON:0019202, FMA:22320). A hip rotator, so it counts
# toward the lower extremity.
BLOCK = """cd:inferiorGemellus a cd:Muscle ;
    rdfs:label "inferior gemellus" ;
    skos:altLabel "gemellus inferior" ;
    cd:billingRegion cd:LowerExtremity ;
    skos:exactMatch obo:UBERON_0019202, fma:fma22320 .

"""
SESSION = {"id": "new-muscle", "injections": [
    {"id": "i1", "muscle": "gemellus inferior", "side": "right"},
    {"id": "i2", "muscle": "right gastrocnemius"}, {"id": "i3", "muscle": "right soleus"},
    {"id": "i4", "muscle": "right tibialis posterior"}, {"id": "i5", "muscle": "right FHL"}]}


def test_a_new_muscle_added_the_documented_way_is_coded(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="unknown muscle"):  # not known before the block is added
        code_json(SESSION, load_ontology())

    folder = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY, folder)
    muscles = folder / "muscles.ttl"
    text = muscles.read_text(encoding="utf-8")
    anchor = "cd:lumbricalOfFoot a cd:Muscle ;"  # the next block of its region's group, by label
    assert anchor in text
    muscles.write_text(text.replace(anchor, BLOCK + anchor, 1), encoding="utf-8")

    assert [str(p) for p in check.run(folder, steps=("shapes", "qc"))] == []

    monkeypatch.setenv("CHEMODEN_CACHE", str(tmp_path / "cache"))  # the copy's closure, not the shared one
    result = code_json(SESSION, load_ontology(folder))
    assert [(line.code, line.units) for line in result.lines] == [("64644", 1)]  # five muscles in one leg
    assert "i1 right inferior gemellus" in result.to_table()
