"""Deterministic generator of realistic treatment sessions, for parity tests and benchmarks.

    python benchmarks/generate.py -n 1000 --seed 7 > sessions.jsonl

Sessions span every billing region, side patterns (one side, both, bilateral), extremity and
trunk sizes around their thresholds, guidance kinds, approaches, migraine protocols, drugs with
and without waste, both settings, names as coders write them (abbreviations, misspellings,
leading side words) and claims with and without the usual mistakes. The muscle pool is read
from the ontology, so a muscle a maintainer adds shows up here too.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rdflib.namespace import RDFS, SKOS  # noqa: E402

from reasoner import load_ontology  # noqa: E402
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    for doc in generate(args.n, args.seed):
        print(json.dumps(doc, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
