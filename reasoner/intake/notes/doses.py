"""The amounts of a note: the doses of a sentence, the field cue labelling a dose (a total, the
waste, a vial), a target's dose and sites in its clause or its table row (times the sites, per
site, per side, per kilogram), and the per-site and per-kilogram amounts worked out at the end."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...knowledge.names import Target
from .mentions import Mention
from .patterns import COUNT_WORDS, DOSE, NUMBER, TIMES, UNITS_PER_VOLUME, VOLUME, VOLUME_PER_UNITS, WEIGHT, Patterns, count, num
from .provenance import Record
from .structure import Line

Dose = tuple[float, tuple[int, int], bool]  # the amount, its span, per kilogram


@dataclass
class Found:
    """An injection read from the note, before it becomes one or two session injections."""

    target: Target
    written: str
    start: int
    end: int
    side: str | None = None  # left, right, bilateral
    side_span: tuple[int, int] | None = None
    units: float | None = None
    units_each: bool = False  # the amount is per side
    sites: int | None = None
    dose_span: tuple[int, int] | None = None
    per_kg: float | None = None
    clause: tuple[int, int] = (0, 0)
    unmultiplied: float | None = None  # "40u x2": 40 U in 2 sites, if the note's total rules out 80 U
    sites_each: bool = False  # the sites are each side's ("2 sites each side")


def doses(text: str, start: int, end: int) -> list[Dose]:
    """The doses written in text[start:end], but a dilution's ("2 mL per 100 U")."""
    sentence = text[start:end]
    return [(num(m.group(1)), (start + m.start(), start + m.end()), bool(m.group(2)))
            for m in DOSE.finditer(sentence)
            if not re.search(r"(?:mL|ml|cc)\s*(?:per|/|for)\s*$", sentence[:m.start()])]  # a dilution's


def concentration(text: str) -> float | None:
    """The units in a millilitre, when the note states its dilution ("5 U/0.1 mL", "100 U in 2 mL",
    "2 mL per 100 U") and every dilution it states agrees; else None (a volume then stays a volume)."""
    found = set()
    for m in UNITS_PER_VOLUME.finditer(text):
        volume = float(m.group(2)) if m.group(2) else 1.0
        if volume > 0:
            found.add(round(num(m.group(1)) / volume, 3))
    for m in VOLUME_PER_UNITS.finditer(text):
        volume = float(m.group(1))
        if volume > 0:
            found.add(round(num(m.group(2)) / volume, 3))
    return found.pop() if len(found) == 1 else None


def volumes(text: str, start: int, end: int) -> list[tuple[float, tuple[int, int]]]:
    """The volumes given in text[start:end] ("0.4 mL"), but those of a dilution ("4 mL of saline",
    "5 U/0.1 mL", "2 mL per 100 U") or a syringe."""
    out = []
    for m in re.finditer(VOLUME, text[start:end]):
        s, e = start + m.start(), start + m.end()
        before, after = text[max(0, s - 30):s], text[e:e + 30]
        if re.search(r"(?:U|units?|IU)\s*(?:/|per|in|into)\s*$", before, re.I) \
                or re.match(r"\s*(?:/|per|for)\s*\d", after) \
                or re.match(r"\s*(?:of\s+)?(?:normal\s+)?(?:saline|NS|NaCl|diluent|water|preservative|syringe)", after, re.I) \
                or re.search(r"(?:reconstitut|dilut|mixed|syringe)\w*\s*(?:with|in|to|:)?\s*$", before, re.I):
            continue
        out.append((float(m.group(1)), (s, e)))
    return out


def label(text: str, mentions: list[Mention], span: tuple[int, int], patterns: Patterns) -> str | None:
    """The field cue labelling a dose: before it within a few words, or right after it."""
    after = text[span[1]:span[1] + 40]
    before = text[max(0, span[0] - 40):span[0]]
    p = patterns
    if p.vial_after.match(after) or p.vial_before.search(before) or p.vial_added.match(after):
        return "vial_units"
    if re.search(r"\b(?:additional|extra|another|further)\s*$", before, re.I) or p.each_after.match(after):
        return None  # "an additional 50 units", "5 units each": doses of their own, not totals
    if re.search(r"\b(?:remaining|rest of the|other)\s*$", before, re.I) and re.match(
            r"\s*(?:of\s+\w+\s+)?(?:was|were)\s+(?:then\s+)?(?:injected|placed|given|spread|distributed|divided|"
            r"infiltrated|delivered|administered|split)\b", after, re.I):
        return None  # "the remaining 50 units were spread through ...": a dose given, not waste
    if re.search(r"(?:^|[^<>!])=\s*$|,\s*for\s*$", before):
        return "units_administered"  # "= 155 U", "..., for 155 units": a sum
    best = None  # the nearest cue: "45 units given, 5 units wasted" labels each by its own word
    for m in mentions:
        if m.entry.kind != "field" or m.entry.value not in ("units_administered", "units_discarded"):
            continue
        gap_before = text[m.end:span[0]] if m.end <= span[0] else None
        gap_after = text[span[1]:m.start] if m.start >= span[1] else None
        if gap_before is not None:  # "Total 8 U/kg = 144 U": the per-kilogram dose restated
            gap_before = re.sub(r"(?<!\d)\d+(?:\.\d+)?\s*U\s*/\s*kg\s*=?", "", gap_before)
        if gap_before is not None and len(gap_before) <= 24 and not re.search(r";|\.(?!\d)|\d\s*(?:U|units)", gap_before):
            distance = len(gap_before) + (10 if re.search(r",|\band\b", gap_before) else 0)
        elif gap_after is not None and len(gap_after) <= 12 and not re.search(r"[;,]|\.(?!\d)", gap_after):
            # "1500 U (0.3 mL) remaining": a volume's decimal point is no sentence's end
            distance = len(gap_after)
        else:
            continue
        if best is None or distance < best[0]:
            best = (distance, str(m.entry.value))
    return best[1] if best else None


def sentence_amounts(text: str, start: int, end: int, found: list[Dose], labelled: dict, patterns: Patterns):
    """What a sentence of today says of amounts besides the targets' doses: a waste of nothing
    (its span), an amount per site ("Dose per site 5 U") and the patient's weight, each None
    when the sentence does not say it."""
    sentence = text[start:end]
    waste = per_site = weight = None
    m = patterns.zero_waste.search(sentence)
    if m:
        waste = (start + m.start(), start + m.end())
    if patterns.per_site_sentence.search(sentence):
        for amount, span, per_kg in found:
            if span not in labelled and not per_kg and near_per_site(text, span, patterns):
                per_site = amount
    for m in WEIGHT.finditer(sentence):
        if not re.search(r"U\s*/\s*$", sentence[:m.start()]):
            weight = num(m.group(1))
    return waste, per_site, weight


def settle(found: list[Found], weight: float | None, per_site: float | None, record: Record) -> None:
    """Per-kilogram doses times the weight (unresolved without it), site counts times the
    amount per site the note gives once."""
    for f in found:
        if f.per_kg is not None:
            if weight is not None:
                f.units = round(f.per_kg * weight, 2)
            else:
                record.unresolve(f.dose_span or (f.start, f.end), "dose-unattached",
                                 note="a dose per kilogram without the patient's weight")
        if f.units is None and f.sites is not None and per_site is not None:
            f.units = f.sites * per_site
            f.units_each = f.units_each or f.sites_each


def spread(found: list[Found], total: float | None, sites: int | None) -> None:
    """A total given with its count of sites ("155 units at 31 sites") when the targets have their
    sites but no dose: the same amount at every site, if the targets' sites add up to the count."""
    if not total or not sites or not found or any(f.units is not None or f.sites is None for f in found):
        return
    if sum(f.sites * (2 if f.side == "bilateral" else 1) for f in found) != sites:
        return
    for f in found:
        f.units = f.sites * total / sites
        f.units_each = True


def given(found: list[Found]) -> float:
    """The units the targets read add up to (an amount for each side counted twice)."""
    return sum((f.units or 0) * (2 if f.side == "bilateral" and f.units_each else 1) for f in found)


def reconcile(found: list[Found], total: float | None) -> None:
    """"40u x2" is 2 sites times 40 U, unless the note's stated total rules that out: when the
    products add up to more than the total and the amounts as written do not, each amount is the
    target's dose over that many sites."""
    multiplied = [f for f in found if f.unmultiplied is not None]
    if total is None or not multiplied or given(found) <= total + 0.01:
        return
    if given(found) - sum((f.units - f.unmultiplied) * (2 if f.side == "bilateral" and f.units_each else 1)
                          for f in multiplied) <= total + 0.01:
        for f in multiplied:
            f.units, f.unmultiplied = f.unmultiplied, None


def side_doses(text: str, m: Mention, sides: list[Mention], free, clause, used, patterns: Patterns) -> list:
    """The (side, dose) pairs written side by side after a target: "75u R, 75u L", "R 5 U and L 5 U"."""
    pairs, taken = [], set()
    for s in sides:
        if not (m.end <= s.start and s.end <= clause[1]) or s.entry.label == "bilateral":
            continue
        for amount, span, per_kg in free:
            if span in used or span in taken or per_kg or not (clause[0] <= span[0] < clause[1]):
                continue
            gap = text[span[1]:s.start] if span[1] <= s.start else text[s.end:span[0]]
            counted = patterns.sites.fullmatch(gap.strip(" (")) if span[0] >= s.end and gap.rstrip().endswith("(") \
                else None  # "R 4 sites (20U), L 3 sites (15U)"
            if counted is not None and len(gap) <= 16:
                pairs.append((s.entry.label, (s.start, s.end), amount, span, count(counted.group(1))))
                taken.add(span)
                break
            if len(gap) <= 3 and not gap.strip(" :"):
                sites = patterns.sites.match(text, s.end + len(text[s.end:].split("(")[0]) + 1) if \
                    text[s.end:s.end + 3].lstrip().startswith("(") else None
                pairs.append((s.entry.label, (s.start, s.end), amount, span, count(sites.group(1)) if sites else None))
                taken.add(span)
                break
    if len({p[0] for p in pairs}) < 2:
        return []
    used.update(taken)
    return pairs


def cell_number(text: str, line: Line, role: str, patterns: Patterns):
    """The number in a table row's cell of a role (units, sites, left, right) and its span."""
    if line.cells is None or not line.roles or role not in line.roles:
        return None
    index = line.roles.index(role)
    if index >= len(line.cells):
        return None
    s, e = line.cells[index]
    times = patterns.times_sites.search(text, s, e)
    if times and role in ("units", "left", "right"):  # "2 x 4 U": sites times units
        return num(times.group(1)) * num(times.group(3)), (times.start(), times.end())
    m = re.search(NUMBER, text[s:e])
    return (num(m.group(1)), (s + m.start(), s + m.end())) if m else None


def attach(text: str, f: Found, free, line: Line, used: set, patterns: Patterns,
           per_ml: float | None = None) -> None:
    """A target's dose and sites: its table row's cells, else the amount written in its clause
    (a volume at the note's stated dilution, per_ml units in a millilitre, as units)."""
    lo, hi = f.clause
    if line.cells is not None and line.roles:
        units = cell_number(text, line, "units", patterns)
        sites = cell_number(text, line, "sites", patterns)
        volume = cell_number(text, line, "volume", patterns)
        if units is None and volume is not None and per_ml is not None:
            units = (round(volume[0] * per_ml, 2), volume[1])
        if units is not None:
            f.units, f.dose_span = units
            used.add(units[1])
        if sites is not None:
            f.sites = int(sites[0])
        elif units is not None:  # "1500 U (2)" in a cell
            cell = line.cells[line.roles.index("units")] if "units" in line.roles else None
            f.sites = bracketed_count(text, units[1][1], cell[1]) if cell else None
        if units is not None or sites is not None:
            mark_each(f, text[lo:hi], patterns)
            return
    clause = text[lo:hi]
    per_side = patterns.sites_per_side.search(clause)
    m = patterns.times_sites.search(clause)
    if m:  # "4 x 5 U": sites times the amount per site
        f.sites, each = int(num(m.group(1))), num(m.group(3))
        f.units, f.dose_span = f.sites * each, (lo + m.start(), lo + m.end())
        if m.group(2):  # "2 sites ea side x 5U": 10 U on each side
            f.units_each = True
            return
    summed = [(a, sp) for a, sp, kg in free if lo <= sp[0] and sp[1] <= hi and sp not in used and not kg
              and re.search(r"=\s*$", text[max(lo, sp[0] - 4):sp[0]])]
    if f.units is None and summed:  # "20 points x 0.1 mL (2.5 U) = 50 U": the sum written out
        f.units, f.dose_span = summed[-1]
        used.add(summed[-1][1])
    for amount, span, per_kg in free:
        if f.units is not None or f.per_kg is not None:
            break
        if lo <= span[0] and span[1] <= hi and span not in used:
            after = text[span[1]:hi]
            times = TIMES.match(after)
            if per_kg:
                f.per_kg = amount
            elif times and not patterns.times_vials.match(after):
                f.sites = int(num(times.group(1)))
                f.units = amount * f.sites
                f.unmultiplied = amount if f.sites > 1 else None
            elif patterns.per_site_after.match(after):
                f.units = amount  # an amount per site: times the sites, when the clause counts them
                sites = patterns.sites_per_side.search(text, lo, hi) or patterns.sites.search(text, lo, hi)
                if sites:
                    f.sites = count(sites.group(1))
                    f.units = amount * f.sites
            else:
                f.units = amount
                each_site = patterns.each_after.match(text, span[1], hi)
                sites = patterns.sites.search(text, lo, span[0])  # counted before the dose
                if each_site and sites and count(sites.group(1)) > 1 and f.side != "bilateral" \
                        and not patterns.each_list.match(text, span[1]) \
                        and not patterns.sites_per_side.search(text, lo, hi) \
                        and not re.match(r"\s*\w+\s+side", text[each_site.end():hi]):
                    f.units = amount * count(sites.group(1))  # "at five points, 2.5 units each": per point
            f.dose_span = span
            used.add(span)
    if f.units is None and f.per_kg is None and per_ml is not None:
        given = [v for v in volumes(text, lo, hi) if v[1] not in used]
        if given:  # "0.4 mL" at "5 U/0.1 mL": 20 U
            f.units, f.dose_span = round(given[0][0] * per_ml, 2), given[0][1]
            used.add(given[0][1])
    if f.sites is None:
        m = patterns.sites.search(clause) or patterns.bare_times.search(clause)
        if m:
            f.sites = count(m.group(1))
    if per_side is not None:  # "10 U 2 sites (1 each side)": the sites are each side's, the dose both sides'
        f.sites, f.sites_each = count(per_side.group(1)), True
        clause = clause[:per_side.start()] + clause[per_side.end():]
    if f.sites is None and f.dose_span is not None:
        f.sites = bracketed_count(text, f.dose_span[1], hi)
    if f.sites is None:  # "5 units each: procerus (1), frontalis (2 per side)": a count right after the name
        named = re.compile(r"\s*\(\s*(\d{1,2})\s*\)").match(text, f.end, hi)
        f.sites = int(named.group(1)) if named and int(named.group(1)) > 0 else None
    mark_each(f, clause, patterns)


def bracketed_count(text: str, start: int, end: int) -> int | None:
    """A bare count in brackets right after a dose, "40u (2)", "25 U ea (1 ea)": its sites."""
    m = re.compile(r"\s*(?:(?:U|IU|u|units?)(?![A-Za-z])\s*)?(?:(?:each|ea)\b\s*)?\(\s*(\d{1,2})\s*(?:(?:each|ea|per side)\s*)?\)").match(text, start, end)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def mark_each(f: Found, clause: str, patterns: Patterns) -> None:
    """An amount written for each side ("25 U each")."""
    if patterns.each.search(clause) or re.search(r"/\s*side\b", clause, re.I):  # "(10U/side)"
        f.units_each = True


def near_per_site(text: str, span: tuple[int, int], patterns: Patterns) -> bool:
    around = text[max(0, span[0] - 20):span[1] + 30]
    return bool(patterns.per_site_near.search(around)
                or patterns.each_list.match(text[span[1]:span[1] + 10]))  # "with 5 units each: procerus (1), ..."


def is_dilution(text: str, span: tuple[int, int]) -> bool:
    after = text[span[1]:span[1] + 12]
    return bool(re.match(r"\s*(?:/|per|in)\s*(?:\d+(?:\.\d+)?\s*)?(?:mL|ml|cc)", after))


def vial_count(text: str, span: tuple[int, int], patterns: Patterns) -> int:
    after = text[span[1]:span[1] + 30]
    before = text[max(0, span[0] - 20):span[0]]
    m = patterns.vials_times.match(after) or patterns.vials_of.search(before)
    if m is None and patterns.vial_after.match(after):  # "two 200-unit vials"
        m = re.search(r"\b(" + "|".join(w for w in COUNT_WORDS if w not in ("a", "single")) + r"|\d)\s*$", before, re.I)
        return count(m.group(1)) if m else 1
    return int(m.group(1)) if m and 0 < int(m.group(1)) <= 20 else 1
