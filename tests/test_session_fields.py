"""A session's patient, date of service and ICD-10-CM diagnoses, and a claim line's diagnosis
pointers: the RDF they become, how codes are normalised and checked (reasoner/knowledge/icd10cm.py
and its cache), pseudonymisation, and what the outputs show. Then an injection's units and sites
and the agent's lot and vials: the RDF they become and the values refused. Bad input of every
kind is in tests/errors (docs/errors.md); the three input forms in tests/test_session_formats.py."""

import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Literal, URIRef, namespace

from reasoner import InputError, code, read_bytes
from reasoner.core.vocab import CD
from reasoner.intake.model import pseudonymise
from reasoner.knowledge import icd10cm

ROOT = Path(__file__).resolve().parent.parent
SESSION = {"id": "dx", "patient": "P123", "date": "2026-03-04", "diagnoses": ["g243", "M54.2"],
           "injections": [{"muscle": "left SCM"}],
           "billed": [{"code": "64616", "diagnosis_pointers": [2, 1]}, {"code": "95874", "diagnosis_pointers": [7]}]}


def read(ontology, **fields):
    return read_bytes(json.dumps(dict(SESSION, **fields)), ontology)[0]


# --- codes: normalised, and checked against the code set ------------------------------------

@pytest.mark.parametrize("written,normal", [
    ("G43.709", "G43.709"), ("g43709", "G43.709"), ("g43.709", "G43.709"), (" G43709 ", "G43.709"),
    ("G243", "G24.3"), ("i10", "I10"), ("s72001a", "S72.001A"), ("QA0.0101", "QA0.0101"),
])
def test_codes_with_or_without_the_dot_in_any_case_are_normalised(written, normal):
    assert icd10cm.normalise(written) == normal
    assert icd10cm.lookup(written) == (normal, icd10cm.BILLABLE, ())


@pytest.mark.parametrize("written", ["G4", "G24..3", "G2 4.3", "G24.31234", "migraine", "6", "G43-G44", "", "24.3"])
def test_what_is_not_written_as_a_code_is_malformed(written):
    assert icd10cm.normalise(written) is None
    assert icd10cm.lookup(written)[1] == icd10cm.MALFORMED


def test_a_category_is_not_billable_and_names_billable_codes_under_it():
    assert icd10cm.lookup("G43.7") == ("G43.7", icd10cm.NOT_BILLABLE, ("G43.701", "G43.709"))
    code, status, hint = icd10cm.lookup("g43")
    assert (code, status, len(hint)) == ("G43", icd10cm.NOT_BILLABLE, 2)
    assert all(icd10cm.lookup(h)[1] == icd10cm.BILLABLE and h.startswith("G43.") for h in hint)


def test_an_unknown_code_and_the_edition():
    assert icd10cm.lookup("G24.39") == ("G24.39", icd10cm.UNKNOWN, ())
    assert icd10cm.edition() == "April 1, 2026 (FY2026)"


def test_the_session_holds_the_codes_normalised_in_order(ontology):
    session = read(ontology)
    assert session.diagnoses == ("G24.3", "M54.2")
    assert session.patient == "P123" and session.date == datetime.date(2026, 3, 4)


# --- the RDF contract -------------------------------------------------------------------------

def test_the_resolved_triples(ontology):
    session = read(ontology)
    triples = set(session.triples)
    s = URIRef("https://w3id.org/chemoden/session/dx")
    assert (s, CD.patientId, Literal("P123")) in triples
    assert (s, CD.dateOfService, Literal("2026-03-04", datatype=namespace.XSD.date)) in triples
    for n, written in ((1, "G24.3"), (2, "M54.2")):
        node = URIRef(f"{s}/diagnosis/{n}")
        assert {(s, CD.diagnosis, node), (node, namespace.RDF.type, CD.Diagnosis), (node, CD.pointer, Literal(n)),
                (node, CD.icd10cm, Literal(written))} <= triples
        assert Literal(n).datatype == namespace.XSD.integer
    claim = URIRef(f"{s}/claim/1")
    assert {o for _, p, o in session.graph.triples((claim, CD.diagnosisPointer, None))} == {Literal(1), Literal(2)}
    # a pointer past the last diagnosis is no input error: it stays, for a rule to report
    assert (URIRef(f"{s}/claim/2"), CD.diagnosisPointer, Literal(7)) in triples
    assert not any(p == CD.diagnosisCode for _, p, _ in triples)  # the input list is resolved away


def test_a_session_without_the_fields_has_none_of_them(ontology):
    session = read_bytes(json.dumps({"injections": [{"muscle": "left SCM"}]}), ontology)[0]
    assert (session.patient, session.date, session.diagnoses) == (None, None, ())
    assert not {p for _, p, _ in session.triples} & {CD.patientId, CD.dateOfService, CD.diagnosis}


def test_the_date_may_be_today_or_tomorrow_not_later(ontology):
    today = datetime.date.today()
    for days in (0, 1):
        assert read(ontology, date=(today + datetime.timedelta(days=days)).isoformat()).date is not None
    with pytest.raises(InputError) as info:
        read(ontology, date=(today + datetime.timedelta(days=2)).isoformat())
    assert info.value.field == "date" and "future" in info.value.message
    assert read(ontology, date="2000-01-01").date == datetime.date(2000, 1, 1)
    assert read(ontology, date="2024-02-29").date == datetime.date(2024, 2, 29)


@pytest.mark.parametrize("patient,ok", [("P123", True), (12345, True), ("x" * 128, True), ("x" * 129, False),
                                        ("", False), ("  ", False), ("a\nb", False), (True, False), (1.5, False),
                                        (["P1"], False), ({"name": "x"}, False)])
def test_the_patient_identifier(patient, ok, ontology):
    if ok:
        assert read(ontology, patient=patient).patient == str(patient)
    else:
        with pytest.raises(InputError) as info:
            read(ontology, patient=patient)
        assert info.value.field == "patient"


@pytest.mark.parametrize("pointers,field", [([1, 2, 3, 4], None), ([12], None), (3, None), ([], None),
                                            ([0], "billed[0].diagnosis_pointers[0]"),
                                            ([1, 13], "billed[0].diagnosis_pointers[1]"),
                                            ([1, "2"], "billed[0].diagnosis_pointers[1]"),
                                            ([1.5], "billed[0].diagnosis_pointers[0]"),
                                            ([True], "billed[0].diagnosis_pointers[0]"),
                                            ([1, 2, 3, 4, 5], "billed[0].diagnosis_pointers")])
def test_the_diagnosis_pointers(pointers, field, ontology):
    billed = [{"code": "64616", "diagnosis_pointers": pointers}]
    if field is None:
        read(ontology, billed=billed)
    else:
        with pytest.raises(InputError) as info:
            read(ontology, billed=billed)
        assert info.value.field == field


def test_the_turtle_pointers_are_checked_too(ontology):
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:s> cd:hasInjection [ cd:muscleName "procerus" ] ; cd:billed [ cd:billedCodeText "64612" ;
        cd:diagnosisPointer 1, 2, 3, 4, 5, "x" ] ."""
    with pytest.raises(InputError) as info:
        read_bytes(ttl, ontology)
    assert [e.field for e in info.value.errors] == ["billed[0].diagnosis_pointers[5]", "billed[0].diagnosis_pointers"]


# --- pseudonymisation -------------------------------------------------------------------------

def test_pseudonymise_replaces_the_identifier_by_its_keyed_hash_everywhere(ontology):
    key = b"practice secret"
    session = read(ontology)
    assert len(session.graph)  # made before pseudonymising: it must be made again
    pseudonymise(session, key)
    expected = hmac.new(key, b"P123", hashlib.sha256).hexdigest()
    assert session.patient == expected and len(expected) == 64 and expected == expected.lower()
    everything = [session.triples, list(session.graph), list(session.input_graph)]
    for triples in everything:
        assert not any(str(o) == "P123" for _, _, o in triples)
        assert any(p == CD.patientId and str(o) == expected for _, p, o in triples)
    result = code(session, ontology)
    assert result.as_dict()["patient"] == expected
    assert "P123" not in result.to_table() + result.to_turtle() + result.to_json()


def test_pseudonymise_is_deterministic_and_depends_on_the_key(ontology):
    first, again, other = read(ontology), read(ontology), read(ontology)
    pseudonymise(first, b"k1")
    pseudonymise(again, b"k1")
    pseudonymise(other, b"k2")
    assert first.patient == again.patient != other.patient
    nobody = read_bytes(json.dumps({"injections": [{"muscle": "procerus"}]}), ontology)[0]
    pseudonymise(nobody, b"k1")
    assert nobody.patient is None
    with pytest.raises(ValueError):
        pseudonymise(read(ontology), b"")


def test_pseudonymise_a_turtle_session(ontology):
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:s> cd:patientId "P123" ; cd:hasInjection [ cd:muscleName "procerus" ] ."""
    session = read_bytes(ttl, ontology)[0]
    pseudonymise(session, b"k")
    assert "P123" not in {str(o) for _, _, o in list(session.triples) + list(session.input_graph)}


# --- what the outputs show --------------------------------------------------------------------

def test_json_table_and_claim_echo(ontology):
    result = code(read(ontology), ontology)
    doc = result.as_dict()
    assert (doc["patient"], doc["date"], doc["diagnoses"]) == ("P123", "2026-03-04", ["G24.3", "M54.2"])
    assert [line.get("diagnosis_pointers") for line in doc["billed"]] == [[2, 1], [7]]  # as given
    assert "  Patient P123, date of service 2026-03-04, diagnoses G24.3, M54.2" in result.to_table().splitlines()
    only_date = code(read_bytes(json.dumps({"date": "2026-03-04", "injections": [{"muscle": "procerus"}]}),
                          ontology)[0], ontology)
    assert "  Date of service 2026-03-04" in only_date.to_table().splitlines()
    assert "patient" not in only_date.as_dict() and "diagnoses" not in only_date.as_dict()
    plain = code(read_bytes(json.dumps({"injections": [{"muscle": "procerus"}]}), ontology)[0], ontology)
    assert not any(line.startswith(("  Patient", "  Date of service", "  Diagnoses")) for line in plain.to_table().splitlines())


def test_the_example_session_holds_its_claim():
    proc = subprocess.run([sys.executable, "-m", "reasoner", "audit", "--format", "json",
                           "examples/claim-cervical-dystonia-diagnoses.json"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["diagnoses"][0] == "G24.3" and doc["date"] and doc["patient"]
    assert all(line["diagnosis_pointers"] for line in doc["billed"])


# --- the cache of the code set ------------------------------------------------------------------

PROBE = """
import sys, time
from reasoner.knowledge import icd10cm
t = time.perf_counter()
answer = icd10cm.lookup("g43709")
print(answer[1], round(time.perf_counter() - t, 3), "simple_icd_10_cm" in sys.modules)
"""


def test_the_code_set_is_read_from_the_cache_without_importing_the_library(tmp_path):
    env = dict(os.environ, CHEMODEN_CACHE=str(tmp_path))

    def probe():
        proc = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", PROBE], capture_output=True,
                              text=True, timeout=300, cwd=ROOT, env=env)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # the library's warnings silenced
        status, seconds, imported = proc.stdout.split()
        return status, float(seconds), imported == "True"

    first = probe()
    assert first[0] == "billable" and first[2]  # built from the library, once
    cached = list(tmp_path.glob("icd10cm-*.txt"))
    assert len(cached) == 1 and icd10cm.library_version() in cached[0].name
    second = probe()
    assert second[0] == "billable" and not second[2]  # the library is not imported again
    assert second[1] < first[1] and second[1] < 0.5


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMODEN_CACHE", str(tmp_path))
    monkeypatch.setattr(icd10cm, "_LOADED", {})
    path = icd10cm.cache_path()
    path.write_text("half a file")
    built = []
    real = icd10cm.build
    monkeypatch.setattr(icd10cm, "build", lambda: built.append(1) or real())
    assert icd10cm.lookup("G24.3")[1] == icd10cm.BILLABLE and built == [1]
    assert path.read_text().startswith(f"{icd10cm.LIBRARY}\t{icd10cm.library_version()}\t")


def test_a_session_without_diagnoses_never_reads_the_code_set():
    script = ("import sys; from reasoner import code_json; "
              "code_json({'patient': 'P1', 'date': '2026-03-04', 'injections': [{'muscle': 'procerus'}]}); "
              "from reasoner.knowledge import icd10cm; "
              "print('simple_icd_10_cm' in sys.modules, bool(icd10cm._LOADED))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


# --- an injection's units and sites, the agent's lot and vials ------------------------------------

DOSED = {"id": "dosed", "injections": [{"muscle": "left SCM", "units": 30, "sites": 2},
                                       {"muscle": "left splenius capitis", "units": 22.5}],
         "agent": {"product": "Botox", "units_administered": 52.5, "units_discarded": 47.5, "lot": "C8810-C3",
                   "vial_units": [100]}}


def dosed(ontology, injection: dict | None = None, **agent):
    """DOSED read, its first injection's fields and its agent's replaced by those given."""
    doc = json.loads(json.dumps(DOSED))
    doc["injections"][0].update(injection or {})
    doc["agent"].update(agent)
    for fields in [doc["injections"][0], doc["agent"]]:
        for key in [k for k, v in fields.items() if v is None]:
            del fields[key]
    return read_bytes(json.dumps(doc), ontology)[0]


def test_the_resolved_triples_of_the_doses(ontology):
    session = dosed(ontology)
    triples = set(session.triples)
    s = "https://w3id.org/chemoden/session/dosed"
    i1, i2, agent = URIRef(f"{s}/injection/i1"), URIRef(f"{s}/injection/i2"), URIRef(f"{s}/agent")
    decimal = namespace.XSD.decimal
    assert {(i1, CD.doseUnits, Literal("30", datatype=decimal)), (i1, CD.siteCount, Literal(2)),
            (i2, CD.doseUnits, Literal("22.5", datatype=decimal)), (agent, CD.lotNumber, Literal("C8810-C3")),
            (agent, CD.vialUnits, Literal("100", datatype=decimal))} <= triples
    assert Literal(2).datatype == namespace.XSD.integer
    assert not any(s == i2 and p == CD.siteCount for s, p, _ in triples)  # left out: not given


def test_a_session_without_the_doses_has_none_of_them(ontology):
    session = read_bytes(json.dumps({"injections": [{"muscle": "left SCM"}],
                                     "agent": {"product": "Botox", "units_administered": 50}}), ontology)[0]
    assert not {p for _, p, _ in session.triples} & {CD.doseUnits, CD.siteCount, CD.lotNumber, CD.vialUnits}


@pytest.mark.parametrize("units,ok", [(30, True), (2.5, True), (0.1, True), (100_000, True), (0, False), (-5, False),
                                      (100_000.5, False), ("30", False), ("30 U", False), (True, False),
                                      ([30], False), ({"value": 30}, False)])
def test_the_units_of_an_injection(units, ok, ontology):
    if ok:
        session = dosed(ontology, {"units": units})
        assert {o.toPython() for s, p, o in session.triples if p == CD.doseUnits and s.endswith("/i1")} == {
            Decimal(str(units))}
    else:
        with pytest.raises(InputError) as info:
            dosed(ontology, {"units": units})
        assert info.value.field == "injections[0].units" and "product units" in info.value.message


@pytest.mark.parametrize("sites,ok", [(1, True), (4, True), (100, True), (0, False), (101, False), (2.5, False),
                                      (2.0, False), ("2", False), (True, False), (-1, False)])
def test_the_sites_of_an_injection(sites, ok, ontology):
    if ok:
        session = dosed(ontology, {"sites": sites})
        assert (URIRef("https://w3id.org/chemoden/session/dosed/injection/i1"), CD.siteCount, Literal(sites)) in set(
            session.triples)
    else:
        with pytest.raises(InputError) as info:
            dosed(ontology, {"sites": sites})
        assert info.value.field == "injections[0].sites" and "injection sites" in info.value.message


@pytest.mark.parametrize("lot,ok", [("C8810C3", True), ("C-8810-3", True), ("x" * 40, True), ("1", True),
                                    ("x" * 41, False), ("", False), ("C 8810", False), ("C8810/3", False),
                                    ("C8810\n", False), ("lót", False), (881003, False), (True, False), (["A"], False)])
def test_the_lot_number(lot, ok, ontology):
    if ok:
        assert (URIRef("https://w3id.org/chemoden/session/dosed/agent"), CD.lotNumber, Literal(lot)) in set(
            dosed(ontology, lot=lot).triples)
    else:
        with pytest.raises(InputError) as info:
            dosed(ontology, lot=lot)
        assert info.value.field == "agent.lot" and "letters, digits and hyphens" in info.value.message


@pytest.mark.parametrize("vials,sizes,field", [
    ([100], {"100"}, None), (100, {"100"}, None), ([100, 50], {"100", "50"}, None), ([2.5], {"2.5"}, None),
    ([100, 100], {"100"}, None),  # two vials of one size: one value in RDF, a set
    ([], set(), None), ([100] * 20, {"100"}, None),
    ([100] * 21, None, "agent.vial_units"), ([100, 0], None, "agent.vial_units"), (-100, None, "agent.vial_units"),
    ([100, 200_000], None, "agent.vial_units"), ([100, "100"], None, "agent.vial_units[1]"),
    ("100", None, "agent.vial_units"), ([100, None], None, "agent.vial_units[1]"), ([True], None, "agent.vial_units[0]"),
])
def test_the_vials_opened(vials, sizes, field, ontology):
    if field is None:
        session = dosed(ontology, vial_units=vials)
        assert {str(o) for _, p, o in session.triples if p == CD.vialUnits} == sizes
    else:
        with pytest.raises(InputError) as info:
            dosed(ontology, vial_units=vials)
        assert info.value.field == field


def test_the_doses_in_turtle_are_checked_too(ontology):
    ttl = """@prefix cd: <https://w3id.org/chemoden#> .
    <urn:x:s> cd:hasInjection [ cd:muscleName "left SCM" ; cd:doseUnits "30" ; cd:siteCount 2.0 ] ,
                              [ cd:muscleName "left trapezius" ; cd:doseUnits 10, 20 ] ;
        cd:agent [ cd:productName "Botox" ; cd:unitsAdministered 30 ; cd:lotNumber 881003 ; cd:vialUnits 100, -1, 0 ] ."""
    with pytest.raises(InputError) as info:
        read_bytes(ttl, ontology)
    assert [(e.field, e.message.rsplit("found ", 1)[-1]) for e in info.value.errors] == [
        ("injections[0].units", "'30'"), ("injections[0].sites", "2.0"), ("injections[1].units", "has several values "
                                                                                                "['10', '20']; give one"),
        ("agent.lot", "881003"), ("agent.vial_units", "-1, 0")]


def test_every_bad_dose_field_is_reported_at_once(ontology):
    doc = {"injections": [{"muscle": "left SCM", "units": -1, "sites": 0},
                          {"muscle": "left trapezius", "units": 250_000, "sites": 101}],
           "agent": {"product": "Botox", "units_administered": 30, "lot": "lot 7", "vial_units": [0]}}
    with pytest.raises(InputError) as info:
        read_bytes(json.dumps(doc), ontology)
    assert [e.field for e in info.value.errors] == ["injections[0].units", "injections[0].sites", "injections[1].units",
                                                    "injections[1].sites", "agent.lot", "agent.vial_units"]


def test_the_doses_do_not_change_the_codes(ontology):
    bare = json.loads(json.dumps(DOSED))
    for inj in bare["injections"]:
        inj.pop("units", None)
        inj.pop("sites", None)
    for key in ("lot", "vial_units"):
        bare["agent"].pop(key)
    with_doses, without = code(dosed(ontology), ontology), code(read_bytes(json.dumps(bare), ontology)[0], ontology)
    assert [ln.as_dict() for ln in with_doses.lines] == [ln.as_dict() for ln in without.lines]
    assert with_doses.conflicts == without.conflicts
