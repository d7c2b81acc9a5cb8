"""Deterministic generator of realistic treatment sessions, for parity tests and benchmarks.

    python benchmarks/generate.py -n 1000 --seed 7 > sessions.jsonl
    python benchmarks/generate.py --history -n 100000 --start 2025-01-01 --days 365 --seed 7 > year.jsonl

Sessions span every billing region, side patterns (one side, both, bilateral), extremity and
trunk sizes around their thresholds, guidance kinds, approaches, migraine protocols, drugs with
and without waste, both settings, names as coders write them (abbreviations, misspellings,
leading side words) and claims with and without the usual mistakes. The muscle pool is read
from the ontology, so a muscle a maintainer adds shows up here too.

`--history` writes a practice's treatment histories instead (history()): patients, each with an
indication, the muscles or glands it is treated in (the same regions as above), a product and its
usual dose, and diagnoses from the coverage profile's rules for that indication (a few percent
not accepted for the procedure, a few sessions with none). Each patient returns every 12 to 16
weeks with jitter, so some visits come sooner than the 84-day minimum; a few percent of visits
are entered twice (same patient, date and codes: a duplicate), some Botox patients pass its
label's 400 units in 90 days. Sessions are written in date order, their dates within the window
and never after today; the same arguments give the same output.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rdflib.namespace import RDFS, SKOS  # noqa: E402

from reasoner import load_ontology  # noqa: E402
from reasoner.core.ndc import normalise as ndc11  # noqa: E402
from reasoner.core.vocab import CD  # noqa: E402

PRODUCTS = {  # product: (typical amounts administered, discarded)
    "Botox": ([50, 100, 155, 195, 200, 300, 400], [0, 0, 5, 45, 100]),
    "Dysport": ([250, 312, 500, 750, 1000], [0, 0, 188, 250]),
    "Myobloc": ([2450, 2500, 5000, 7500], [0, 50, 2500]),
    "Xeomin": ([50, 100, 120, 200, 400], [0, 0, 30, 80]),
    "Daxxify": ([125, 150, 250], [0, 25, 75]),
}
NDC = {"Botox": "0023-3921-02", "Dysport": "15054-0500-01", "Myobloc": "10454-711-10",
       "Xeomin": "00259161001", "Daxxify": "72960-112-01"}
GUIDANCE = [[], ["needle-emg"], ["needle-emg"], ["electrical-stimulation"], ["ultrasound"],
            ["needle-emg", "electrical-stimulation"], ["ultrasound", "needle-emg"]]


class Pool:
    """Targets by region with the names a coder might write for each."""

    def __init__(self, ontology):
        g = ontology.graph
        self.by_region: dict[str, list[tuple[str, list[str], bool]]] = {}
        for target, region in sorted(g.subject_objects(CD.billingRegion)):
            label = str(g.value(target, RDFS.label))
            names = [label] + sorted(str(n) for n in g.objects(target, SKOS.altLabel)) \
                + sorted(str(n) for n in g.objects(target, SKOS.hiddenLabel))
            midline = bool(g.value(target, CD.midline))
            self.by_region.setdefault(str(region).rsplit("#", 1)[1], []).append((label, names, midline))
        self.migraine = sorted(str(g.value(t, RDFS.label)) for t in g.subjects(CD.migraineProtocol, None))

    def pick(self, rng, region, k):
        return rng.sample(self.by_region[region], min(k, len(self.by_region[region])))


def _name(rng, names):
    name = rng.choice(names) if rng.random() < 0.4 else names[0]
    return name.upper() if rng.random() < 0.05 else name


def _injection(rng, names, side, midline, written_side=True):
    name = _name(rng, names)
    if midline:
        return {"muscle": name}
    if side != "bilateral" and written_side and rng.random() < 0.3:
        return {"muscle": f"{side} {name}"}
    return {"muscle": name, "side": side}


def session(rng: random.Random, pool: Pool, n: int) -> dict:
    injections: list[dict] = []
    kind = rng.choices(["neck", "limbs", "trunk", "mixed", "face", "larynx", "migraine", "other", "glands"],
                       [20, 22, 8, 14, 8, 6, 8, 7, 7])[0]
    doc: dict = {"id": f"gen-{n:06d}"}

    def region(name, count, sides):
        for _label, names, midline in pool.pick(rng, name, count):
            injections.append(_injection(rng, names, rng.choice(sides), midline))

    if kind in ("neck", "mixed"):
        region("Neck", rng.randint(1, 5), ["left", "right", "left", "bilateral"])
    if kind in ("limbs", "mixed"):
        for limb_region, side in rng.sample([("UpperExtremity", "left"), ("UpperExtremity", "right"),
                                             ("LowerExtremity", "left"), ("LowerExtremity", "right")], rng.randint(1, 4)):
            for _label, names, midline in pool.pick(rng, limb_region, rng.choice([1, 2, 3, 4, 4, 5, 5, 6, 8])):
                injections.append(_injection(rng, names, side, midline))
    if kind in ("trunk", "mixed") and rng.random() < 0.7:
        region("Trunk", rng.choice([1, 2, 3, 5, 6]), ["left", "right", "bilateral"])
    if kind == "face":
        region("FacialNerve", rng.randint(1, 4), ["left", "right", "bilateral"])
    if kind == "larynx":
        region("Larynx", rng.randint(1, 2), ["left", "right", "bilateral"])
        doc["approach"] = rng.choice(["percutaneous", "percutaneous", "direct-laryngoscopy",
                                      "direct-laryngoscopy-microscope", "flexible-laryngoscopy"])
    if kind == "migraine":
        doc["indication"] = "chronic migraine"
        for label in pool.migraine:
            if rng.random() < 0.85:
                injections.append({"muscle": label, **({} if label == "procerus" else {"side": "bilateral"})})
        if rng.random() < 0.3:
            region("Neck", 1, ["left", "right"])
    if kind == "other":
        for reg in rng.sample(["PelvicFloor", "InternalAnalSphincter", "BladderDetrusor", "Extraocular", "NoSpecificCode"],
                              rng.randint(1, 2)):
            region(reg, rng.randint(1, 2), ["left", "right", "bilateral"])
    if kind == "glands":
        region(rng.choice(["SalivaryGlands", "EccrineGlands"]), rng.randint(1, 3), ["left", "right", "bilateral"])
    if not injections:
        region("Neck", 2, ["left", "right"])
    rng.shuffle(injections)
    for i, inj in enumerate(injections, start=1):
        if rng.random() < 0.7:
            inj["id"] = f"i{i}"
    doc["injections"] = injections
    doc["guidance"] = rng.choice(GUIDANCE)
    if rng.random() < 0.15:
        doc["setting"] = "facility"
    if rng.random() < 0.1:
        doc["profile"] = rng.choice(["guidance-per-code", "rt-lt"])
    if rng.random() < 0.6:
        product = rng.choice(sorted(PRODUCTS))
        given, wasted = PRODUCTS[product]
        agent = {"product": product, "units_administered": rng.choice(given)}
        if rng.random() < 0.8:
            agent["units_discarded"] = rng.choice(wasted)
        if rng.random() < 0.7:
            agent["ndc"] = NDC[product]
        doc["agent"] = agent
    if rng.random() < 0.35:
        doc["billed"] = _claim(rng, doc)
    return doc


def _claim(rng, doc) -> list[dict]:
    """A plausible claim, right or with a typical mistake; the audit decides which."""
    lines = []
    codes = ["64616", "64642", "64643", "64644", "64645", "64646", "64647", "64612", "64615", "64617", "64999"]
    for code in rng.sample(codes, rng.randint(1, 3)):
        line = {"code": code, "units": rng.choice([1, 1, 1, 2])}
        if rng.random() < 0.3:
            line["modifiers"] = [rng.choice(["50", "RT", "LT", "59"])]
        lines.append(line)
    if doc.get("guidance") and rng.random() < 0.8:
        lines.append({"code": rng.choice(["95874", "95874", "95873"]), "units": rng.choice([1, 1, 2])})
    agent = doc.get("agent")
    if agent and rng.random() < 0.8:
        code = {"Botox": "J0585", "Dysport": "J0586", "Myobloc": "J0587", "Xeomin": "J0588", "Daxxify": "J0589"}[agent["product"]]
        line = {"code": code, "units": int(agent["units_administered"]) if code in ("J0585", "J0588", "J0589") else 1,
                "modifiers": rng.choice([["JZ"], [], ["JW"]])}
        if rng.random() < 0.7:
            line["ndc"] = rng.choice([NDC[agent["product"]].replace("-", ""), NDC[agent["product"]]])
        lines.append(line)
    if rng.random() < 0.05:
        lines.append({"code": "A4657", "units": 2})
    return lines


def generate(n: int, seed: int = 7, ontology=None):
    rng = random.Random(seed)
    pool = Pool(ontology or load_ontology())
    for i in range(n):
        yield session(rng, pool, i)


# ---------------------------------------------------------------------------
# A practice's treatment histories (--history)
# ---------------------------------------------------------------------------

# indication: (share of patients, coverage rule in coverage.ttl, products by share, typical doses
# per product (units a session), guidance kinds by share)
INDICATIONS = {
    "cervical dystonia": (30, "cov-cervical-dystonia",
                          {"Botox": 45, "Dysport": 20, "Xeomin": 20, "Myobloc": 10, "Daxxify": 5},
                          {"Botox": [150, 200, 200, 240, 300], "Dysport": [500, 750, 1000],
                           "Xeomin": [120, 200, 240], "Myobloc": [2500, 5000, 7500, 10000], "Daxxify": [125, 250]},
                          {"needle-emg": 55, "ultrasound": 15, "": 30}),
    "limb spasticity": (25, "cov-limb-spasticity", {"Botox": 55, "Dysport": 30, "Xeomin": 15},
                        {"Botox": [200, 300, 300, 360, 400], "Dysport": [500, 1000, 1500],
                         "Xeomin": [200, 300, 400]},
                        {"electrical-stimulation": 40, "ultrasound": 30, "needle-emg": 20, "": 10}),
    "chronic migraine": (22, "cov-chronic-migraine", {"Botox": 100}, {"Botox": [155, 155, 155, 195]}, {"": 100}),
    "blepharospasm": (8, "cov-blepharospasm", {"Botox": 60, "Xeomin": 40},
                      {"Botox": [25, 35, 50, 100], "Xeomin": [35, 50, 70]}, {"": 100}),
    "axillary hyperhidrosis": (5, "cov-axillary-hyperhidrosis", {"Botox": 100}, {"Botox": [100]}, {"": 100}),
    "overactive bladder": (4, "cov-bladder-overactivity", {"Botox": 100}, {"Botox": [100, 100, 200]}, {"": 100}),
    "sialorrhea": (3, "cov-sialorrhea", {"Xeomin": 60, "Myobloc": 40},
                   {"Xeomin": [100], "Myobloc": [1500, 2500, 3500]}, {"ultrasound": 70, "": 30}),
    "spasmodic dysphonia": (2, "cov-spasmodic-dysphonia", {"Botox": 100}, {"Botox": [5, 10, 15]},
                            {"needle-emg": 90, "": 10}),
    "strabismus": (0.5, "cov-strabismus", {"Botox": 100}, {"Botox": [5, 10]}, {"": 100}),
    "chronic anal fissure": (0.5, "cov-anal-fissure", {"Botox": 100}, {"Botox": [20, 25, 50]}, {"": 100}),
}
# Billable codes a coder might give instead, which the coverage rule does not accept (a few percent)
NOT_ACCEPTED = {"cervical dystonia": ["M43.6", "G24.9"], "limb spasticity": ["R25.2", "M62.838", "R29.898"],
                "chronic migraine": ["G43.909", "G44.209"], "blepharospasm": ["G24.9", "G25.89"],
                "axillary hyperhidrosis": ["R61", "L74.519"], "overactive bladder": ["N32.9", "N39.41"],
                "sialorrhea": ["K11.9", "R68.2"], "spasmodic dysphonia": ["R49.0"], "strabismus": ["H51.9"],
                "chronic anal fissure": ["K62.89"]}
SECONDARY = ["I10", "M54.2", "G47.00", "F32.A", "E11.9"]  # other diagnoses a claim lists after the first
# The code a claim bills each indication with (limbs are counted per session); CPT modifier 50 for
# a one-side code injected on both sides
CLAIM_CODE = {"cervical dystonia": "64616", "chronic migraine": "64615", "blepharospasm": "64612",
              "axillary hyperhidrosis": "64650", "overactive bladder": "52287", "sialorrhea": "64611",
              "spasmodic dysphonia": "64617", "strabismus": "67345", "chronic anal fissure": "46505"}
ONE_SIDE = {"64616", "64612", "64617", "67345"}
J_CODES = {"Botox": ("J0585", 1), "Dysport": ("J0586", 5), "Myobloc": ("J0587", 100), "Xeomin": ("J0588", 1),
           "Daxxify": ("J0589", 1)}
MEAN_INTERVAL = 97  # days between visits: 12 to 16 weeks with jitter (see _interval)


class HistoryPool(Pool):
    """The muscle pool, with each indication's accepted diagnoses and each product's vial sizes
    read from the ontology (coverage.ttl, products.ttl)."""

    def __init__(self, ontology):
        super().__init__(ontology)
        g = ontology.graph
        self.accepted: dict[str, list[str]] = {}
        for indication, (_share, rule, *_rest) in INDICATIONS.items():
            codes = sorted(str(c) for c in g.objects(CD[rule], CD.acceptsIcd10cm))
            if not codes:
                raise SystemExit(f"generate: coverage.ttl has no accepted codes for cd:{rule} ({indication})")
            self.accepted[indication] = codes
        self.vials: dict[str, list[int]] = {}
        for product in NDC:
            for iri in g.subjects(CD.name, None):
                names = {str(n).lower() for n in g.objects(iri, SKOS.altLabel)}
                if product.lower() in names:
                    self.vials[product] = sorted(int(v) for v in g.objects(iri, CD.vialSize))


def _weighted(rng, table: dict):
    return rng.choices(list(table), [float(w) for w in table.values()])[0]


def _interval(rng) -> int:
    """Days to the next visit: 12 to 16 weeks, jittered (about 1 in 15 below 12 weeks), and now and
    then an early return (symptoms back sooner)."""
    if rng.random() < 0.05:
        return rng.randint(28, 76)
    return round(rng.triangular(77, 119, 95))


def _waste(rng, dose: int, vials: list[int]) -> int:
    """Units discarded: what the smallest vial combination covering the dose leaves over (now and
    then a vial more than needed: the avoidable waste the rules flag)."""
    sums, frontier = {0}, {0}
    while frontier:  # every total of whole vials up to the first that covers the dose
        frontier = {s + v for s in frontier for v in vials if s < dose} - sums
        sums |= frontier
    waste = min(s for s in sums if s >= dose) - dose
    if rng.random() < 0.04:
        waste += vials[0]
    return waste


class Patient:
    """What stays the same from visit to visit: indication, targets, sides, product, usual dose,
    guidance, diagnoses."""

    def __init__(self, rng: random.Random, pool: HistoryPool, number: int):
        self.id = f"P{number:06d}"
        self.indication = indication = _weighted(rng, {k: v[0] for k, v in INDICATIONS.items()})
        _share, _rule, products, doses, guidance = INDICATIONS[indication]
        self.product = _weighted(rng, products)
        self.doses = doses[self.product]
        self.dose = rng.choice(self.doses)
        if indication == "limb spasticity" and self.product == "Botox" and rng.random() < 0.06:
            self.dose = rng.choice([450, 500, 600])  # above the label's 400 in a single session
        self.guidance = _weighted(rng, guidance)
        self.facility = rng.random() < 0.08
        accepted = pool.accepted[indication]
        if rng.random() < 0.04:
            first = rng.choice(NOT_ACCEPTED[indication])
        else:
            first = rng.choice(accepted[:3]) if rng.random() < 0.6 else rng.choice(accepted)
        self.diagnoses = [first] + ([rng.choice(SECONDARY)] if rng.random() < 0.25 else [])
        self.targets = self._targets(rng, pool)

    def _targets(self, rng, pool) -> list[tuple[str, list[str], bool, str, str]]:
        """(label, names, midline, side, region) of each target the patient is treated in."""
        out = []

        def add(region, count, sides):
            for label, names, midline in pool.pick(rng, region, count):
                out.append((label, names, midline, rng.choice(sides), region))

        ind = self.indication
        if ind == "cervical dystonia":
            add("Neck", rng.randint(2, 5), ["left", "right", "bilateral"])
        elif ind == "limb spasticity":
            side = rng.choice(["left", "right"])
            limbs = rng.choice([[("UpperExtremity", side)], [("UpperExtremity", side)],
                                [("UpperExtremity", side), ("LowerExtremity", side)], [("LowerExtremity", side)],
                                [("LowerExtremity", "left"), ("LowerExtremity", "right")]])
            for region, limb_side in limbs:
                for label, names, midline in pool.pick(rng, region, rng.choice([2, 3, 4, 4, 5, 6])):
                    out.append((label, names, midline, limb_side, region))
            if rng.random() < 0.1:
                add("Trunk", rng.randint(1, 3), [side])
        elif ind == "chronic migraine":
            for label in pool.migraine:
                out.append((label, [label], label == "procerus", "bilateral", "migraine"))
        elif ind == "blepharospasm":
            add("FacialNerve", rng.randint(1, 3), ["bilateral", "bilateral", "left", "right"])
        elif ind == "axillary hyperhidrosis":
            label, names, midline = next(t for t in pool.by_region["EccrineGlands"] if t[0].startswith("axillary"))
            out.append((label, names, midline, "bilateral", "EccrineGlands"))
        elif ind == "overactive bladder":
            add("BladderDetrusor", 1, ["bilateral"])
        elif ind == "sialorrhea":
            add("SalivaryGlands", rng.randint(1, 2), ["bilateral"])
        elif ind == "spasmodic dysphonia":
            add("Larynx", rng.randint(1, 2), ["bilateral", "left", "right"])
        elif ind == "strabismus":
            add("Extraocular", 1, ["left", "right"])
        else:
            add("InternalAnalSphincter", 1, ["bilateral"])
        return out

    def visit(self, rng: random.Random, pool: HistoryPool, sid: str, day: datetime.date) -> dict:
        doc: dict = {"id": sid, "patient": self.id, "date": day.isoformat()}
        if rng.random() >= 0.03:  # a few sessions are sent without their diagnoses
            doc["diagnoses"] = list(self.diagnoses)
        doc["indication"] = self.indication
        targets = list(self.targets)
        if len(targets) > 1 and self.indication != "chronic migraine" and rng.random() < 0.15:
            targets.pop(rng.randrange(len(targets)))  # a muscle left out this time
        injections = []
        for label, names, midline, side, _region in targets:
            if midline:
                injections.append({"muscle": _name(rng, names)})
            elif side == "bilateral" and self.indication == "chronic migraine":
                injections.append({"muscle": label, "side": "bilateral"})
            else:
                injections.append(_injection(rng, names, side, midline))
        for i, inj in enumerate(injections, start=1):
            inj["id"] = f"i{i}"
        doc["injections"] = injections
        doc["guidance"] = [self.guidance] if self.guidance else []
        if self.indication == "spasmodic dysphonia":
            doc["approach"] = "percutaneous"
        if self.facility:
            doc["setting"] = "facility"
        dose = self.dose
        if rng.random() < 0.2:  # titrated up or down this time
            dose = rng.choice(self.doses) if dose in self.doses else dose
        agent = {"product": self.product, "units_administered": dose}
        if rng.random() < 0.9:
            agent["units_discarded"] = _waste(rng, dose, pool.vials[self.product])
        if rng.random() < 0.85:
            agent["ndc"] = NDC[self.product]
        doc["agent"] = agent
        if rng.random() < 0.3:
            doc["billed"] = self._claim(rng, doc, targets)
        return doc

    def _claim(self, rng, doc, targets) -> list[dict]:
        """The claim as the practice would send it: mostly right, with the usual slips."""
        lines = []
        pointers = list(range(1, len(doc.get("diagnoses", [])) + 1))[:2]
        if self.indication == "limb spasticity":
            limbs: dict = {}
            for _label, _names, _midline, side, region in targets:
                if region.endswith("Extremity"):
                    limbs[(region, side)] = limbs.get((region, side), 0) + 1
            counts = sorted(limbs.values(), reverse=True)
            if counts:
                lines.append({"code": "64644" if counts[0] >= 5 else "64642", "units": 1})
                for count in counts[1:]:
                    lines.append({"code": "64645" if count >= 5 else "64643", "units": 1})
        else:
            code = CLAIM_CODE[self.indication]
            line = {"code": code, "units": 1}
            if code in ONE_SIDE and any(t[3] == "bilateral" for t in targets) and rng.random() < 0.9:
                line["modifiers"] = ["50"]
            lines.append(line)
        guidance = {"needle-emg": "95874", "electrical-stimulation": "95873"}.get(self.guidance)
        if guidance and self.indication != "spasmodic dysphonia":  # 64617 includes its guidance
            lines.append({"code": guidance, "units": 1})
        if not self.facility:
            code, size = J_CODES[self.product]
            agent = doc["agent"]
            given = math.ceil(agent["units_administered"] / size)
            wasted = math.ceil(agent.get("units_discarded", 0) / size)
            drug = {"code": code, "units": given, "modifiers": ["JZ"] if not wasted else []}
            if "ndc" in agent:
                drug["ndc"] = ndc11(agent["ndc"])  # a claim carries the 11-digit form
            lines.append(drug)
            if wasted:
                lines.append({"code": code, "units": wasted, "modifiers": ["JW"], **({"ndc": drug["ndc"]} if "ndc" in drug else {})})
        if rng.random() < 0.05 and lines:  # a slip: a unit too many on the first line
            lines[0]["units"] += 1
        for line in lines:
            if pointers:
                line["diagnosis_pointers"] = list(pointers)
        return lines


def _schedule(rng, days: int) -> list[int]:
    """Visit days (0 = the window's first) of a patient treated the whole window."""
    day = rng.randrange(0, MEAN_INTERVAL)
    out = []
    while day < days:
        out.append(day)
        day += _interval(rng)
    return out


def history(n: int, seed: int = 7, ontology=None, **options):
    """`n` sessions of a practice's patients (dicts), in date order: history_lines() read back."""
    return (json.loads(text) for text in history_lines(n, seed, ontology, **options))


def history_lines(n: int, seed: int = 7, ontology=None, *, patients: int | None = None,
                  start: datetime.date | str = "2025-01-01", days: int = 365, duplicates: float = 0.02):
    """`n` sessions of a practice's patients as JSON text, between `start` and `start + days - 1`
    (never after today), in date order (ties by patient). `patients` sets how many patients
    share them (at most: some may have no visit left; default: as many as a visit every 12 to 16
    weeks needs); `duplicates` is the share of visits entered twice."""
    rng = random.Random(seed)
    pool = HistoryPool(ontology or load_ontology())
    first = datetime.date.fromisoformat(start) if isinstance(start, str) else start
    today = datetime.date.today()
    if first > today:
        raise ValueError(f"the window starts on {first}, after today")
    days = min(days, (today - first).days + 1)
    per_patient = max(days / MEAN_INTERVAL, 1 / MEAN_INTERVAL)
    fixed = patients is not None
    count = patients if fixed else max(1, math.ceil(n / per_patient * 1.1))
    plans: list[list[list[int]]] = []  # per patient: [day, copies] of each visit
    people: list[Patient] = []
    total = 0
    while len(people) < count or (not fixed and total < n):
        people.append(Patient(rng, pool, len(people) + 1))
        plan = [[day, 2 if rng.random() < duplicates else 1] for day in _schedule(rng, days)]
        plans.append(plan)
        total += sum(copies for _, copies in plan)
    if total < n:
        raise ValueError(f"{n} sessions do not fit {count} patients over {days} days at 12 to 16 weeks apart "
                         f"(about {total} do): give more patients or days")
    # patients who joined during the window or left it: their first or last visits go
    with_visits = [i for i, plan in enumerate(plans) if plan]
    while total > n:
        i = rng.choice(with_visits)
        plan = plans[i]
        if not plan:
            continue
        visit = plan[-1] if rng.random() < 0.5 else plan[0]
        if visit[1] > 1:
            visit[1] -= 1
        else:
            plan.remove(visit)
        total -= 1
    out = []
    for patient, plan in zip(people, plans):
        for day, copies in plan:
            date = first + datetime.timedelta(days=day)
            sid = f"{patient.id.lower()}-{date.isoformat()}"
            doc = patient.visit(rng, pool, sid, date)
            out.append((date, patient.id, 0, json.dumps(doc, ensure_ascii=False)))
            for copy in range(1, copies):  # entered twice: the same visit under another id
                out.append((date, patient.id, copy, json.dumps(dict(doc, id=f"{sid}-entry{copy + 1}"),
                                                               ensure_ascii=False)))
    out.sort(key=lambda v: v[:3])
    for _date, _patient, _copy, text in out:
        yield text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="sessions to write (default 1000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", action="store_true",
                        help="a practice's treatment histories: patients, dates of service, diagnoses")
    parser.add_argument("--patients", type=int, help="with --history: how many patients (default: as many as the "
                                                     "sessions need at a visit every 12 to 16 weeks)")
    parser.add_argument("--start", default="2025-01-01", help="with --history: the window's first day (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=365, help="with --history: the window's length in days")
    args = parser.parse_args(argv)
    if args.history:
        try:
            for text in history_lines(args.n, args.seed, patients=args.patients, start=args.start, days=args.days):
                sys.stdout.write(text + "\n")
        except ValueError as exc:
            print(f"generate: {exc}", file=sys.stderr)
            return 2
        return 0
    for doc in generate(args.n, args.seed):
        print(json.dumps(doc, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
