"""The targets of a sentence that were injected today, each with its side (the side word next to
it, its table column, the last side word of its sentence, its heading's, its limb's as announced)
and its dose; a name one spelling slip from a target's in a list; and the session's injections
they make (one per target and side)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ...knowledge.names import Target, normalise
from ...knowledge.reading import Entry, Lexicon
from .doses import Dose, Found, attach, bracketed_count, cell_number, side_doses
from .mentions import TOKEN, Mention
from .patterns import DOSE, Patterns, count, number
from .provenance import Record
from .structure import Line

INJECTED = re.compile(r"\binject(?:ed|ion|ions|ing)?\b|\btreated\b|\bgiven\b|\breceived\b|\bplaced\b", re.I)
STOP = {"the", "of", "into", "to", "in", "at", "on", "a", "and", "with", "muscle", "muscles", "m", "side", "sided"}


@dataclass
class Limbs:
    """Limbs a note announces with their sides ("spasms in both legs and the left upper arm"), for
    the lists that follow without sides: each list takes the next side of its limb."""

    pending: dict = field(default_factory=dict)  # region -> sides announced for lists without sides
    rows: dict = field(default_factory=dict)  # (line start, region) -> the side given to that list item
    sides: dict = field(default_factory=dict)  # region -> every side announced for it (one: it holds for the note)

    def announce(self, mentions: list[Mention]) -> None:
        waiting: list[str] = []
        for m in mentions:
            if m.entry.kind == "side":
                if m.entry.label == "bilateral":  # in the order written: "left and right upper arms"
                    waiting.extend(["left", "right"] if m.written.lower().startswith("l") else ["right", "left"])
                else:
                    waiting.append(m.entry.label)
            elif m.entry.kind == "limb":
                if waiting:
                    self.pending.setdefault(m.entry.value, []).extend(waiting)
                    self.sides.setdefault(m.entry.value, set()).update(waiting)
                waiting = []

    def side(self, region, line: Line) -> str | None:
        """The side of a target of this limb on this line, from what was announced."""
        if not line.row:  # "PROCEDURE: ... the left lower extremity"
            return next(iter(self.sides[region])) if len(self.sides.get(region, ())) == 1 else None
        if region in self.pending:
            key = (line.start, region)
            if key not in self.rows and self.pending[region]:
                self.rows[key] = self.pending[region].pop(0)
            if key in self.rows:
                return self.rows[key]
        return None


@dataclass
class Note:
    """What reading the targets of one note shares from sentence to sentence."""

    text: str
    lexicon: Lexicon
    patterns: Patterns
    record: Record
    limbs: Limbs = field(default_factory=Limbs)
    per_ml: float | None = None  # the units in a millilitre, when the note states its dilution
    carried: tuple[str, tuple[int, int], int] | None = None  # "On the right side ...": side, its span, sentence end


@dataclass
class Sentence:
    """A sentence read: where it is, the line it starts on, the phrases known in it, its doses
    and the doses a field cue labels (those are no target's)."""

    start: int
    end: int
    line: Line
    mentions: list[Mention]
    doses: list[Dose]
    labelled: dict[tuple[int, int], str]


def read(note: Note, sentence: Sentence, today: list[Mention], found: list[Found], used: set) -> None:
    """The targets of a sentence named as injected today (`today`), each with its side and dose,
    added to `found`; `used`: the spans of the doses given to a target so far."""
    text, record, line = note.text, note.record, sentence.line
    s_start, s_end, mentions = sentence.start, sentence.end, sentence.mentions
    before = _sides_before(text, mentions, today)
    sides = [m for m in mentions if m.entry.kind == "side"]
    free = [(a, sp, kg) for a, sp, kg in sentence.doses if sp not in sentence.labelled]
    # "40 U into the left SCM, 60 U into the right splenius": each dose before its target
    doses_first = bool(free) and free[0][1][1] <= today[0].start and line.cells is None and bool(
        re.fullmatch(r"[^.;,:()]{0,30}\b(?:into|to|in|for|at)\b[^.;,:()]{0,40}", text[free[0][1][1]:today[0].start]))
    # "250 units were divided among the left splenius capitis and the left levator scapulae": one dose
    # for the targets together, none of them has a dose or sites of its own
    one_dose = line.cells is None and len([t for t in today if t.entry.kind == "target"]) > 1 and any(
        note.patterns.shared.search(text, max(s_start, a[1][0] - 40), today[0].start) for a in free
        if a[1][1] <= today[0].start) if free else False
    first = len(found)
    for n, m in enumerate(today):
        if m.entry.kind == "target" and _named_again(m, today[:n]):
            record.exclude(m.written, m.start, m.end, "named again")  # "... favouring the splenius"
            continue
        if m.entry.kind == "ambiguous" and len(m.written) <= 3 and m.written.islower() and line.cells is None \
                and not DOSE.search(text, m.end, min(_clause(m, today, n, s_end)[1], m.end + 30)):
            record.exclude(m.written, m.start, m.end, "mentioned")  # "pt left ambulatory": the patient
            continue
        if m.entry.kind == "ambiguous":
            completed = _completed(note, m, today[n + 1].start if n + 1 < len(today) else s_end)
            if completed is not None:  # "flexor digitorum profundis": one slip from one candidate
                m = today[n] = completed
        if m.entry.kind == "ambiguous":
            chosen = _by_neighbours(note.lexicon, m, today, mentions, found)
            if chosen is not None:  # one candidate shares the region of every target listed with it
                m = Mention(Entry("target", chosen, chosen.label), m.start, m.end, m.first, m.last, m.written)
                today[n] = m
                record.choose(m.written, m.start, m.end, chosen.label,
                              "the only candidate in the region of the targets listed with it")
        if m.entry.kind == "ambiguous":
            lo, hi = _clause(m, today, n, s_end)
            if not (DOSE.search(text, lo, hi) or note.patterns.sites.search(text, lo, hi) or line.cells is not None
                    or any(lo <= s.start < hi or s.end == m.start - 1 for s in sides)):
                record.exclude(m.written, m.start, m.end, "mentioned")
                continue
            record.unresolve((m.start, m.end), "ambiguous-target", m.entry.candidates, text=_clause(m, today, n, s_end))
            continue
        target: Target = m.entry.value
        after = today[n + 1] if n + 1 < len(today) else None
        if target.iri in note.lexicon.glands and not DOSE.search(text, *_clause(m, today, n, s_end)) and any(
                t.entry.kind == "target" and t.entry.value.iri not in note.lexicon.glands for t in today):
            record.exclude(m.written, m.start, m.end, "a landmark")  # "5 U each through the palm"
            continue
        if after is not None and after.entry.kind == "target" and re.fullmatch(
                r"\s*(?:muscles?\s*)?\(\s*", text[m.end:after.start]):
            continue  # "the levator muscle (puborectalis)": the name in brackets says which
        f = Found(target, m.written, m.start, m.end)
        if doses_first:
            lo = today[n - 1].end if n else s_start
            f.clause = (lo, m.end)
        else:
            hi = today[n + 1].start if n + 1 < len(today) else s_end
            f.clause = (m.start, hi)
        # the side
        cell_side = _cell_value(text, note.lexicon, line, "side")
        side = _adjacent_side(text, m, sides, today, before)
        if side is None and cell_side is not None:
            side = cell_side
        if side is None:
            earlier = [s for s in sides if s.end <= m.start and s.start >= s_start]
            if earlier:
                side = (earlier[-1].entry.label, (earlier[-1].start, earlier[-1].end))
        if side is None:  # a side word later in its clause: "20 units on each side", "(2 each side)"
            later = [s for s in sides if f.clause[0] <= s.start and s.end <= f.clause[1] and s.start >= m.end]
            if later:
                side = (later[0].entry.label, (later[0].start, later[0].end))
        if side is None and line.heading_side:
            side = (line.heading_side, None)
            f.units_each = line.heading_side == "bilateral"  # amounts under "Both legs:" are per side
        limb_side = False  # the side only from a limb the note announced elsewhere
        if side is None:
            announced = note.limbs.side(target.region, line)
            if announced is not None:
                side, limb_side = (announced, None), True
        if side is not None:
            f.side, f.side_span = side
            if side[0] == "bilateral" and side[1] is not None and note.patterns.each.fullmatch(text, *side[1]) \
                    and not any(c.end() == side[1][1] for c in note.patterns.sites_per_side.finditer(text, s_start, s_end)):
                f.units_each = True  # "Per leg: gastrocnemius 7 U/kg": each side's amount (not "2 sites (1 each side)")
        # left and right columns of a table (doses, or sites)
        if line.cells is not None and line.roles and SIDE_COLUMNS & set(line.roles):
            sided = table_sides(text, line, note.patterns)
            if "left" in line.roles or "right" in line.roles:
                for col in ("left", "right"):
                    value = cell_number(text, line, col, note.patterns)
                    if value is not None:
                        g = Found(target, m.written, m.start, m.end, side=col, units=value[0], dose_span=value[1],
                                  sites=sided.get(col), clause=f.clause)
                        found.append(g)
                        used.add(value[1])
                continue
            if sided:
                each = cell_number(text, line, "per site", note.patterns)
                total = cell_number(text, line, "units", note.patterns)
                sites_in_row = sum(sided.values())
                for col, n in sided.items():
                    units = each[0] * n if each is not None else (
                        total[0] * n / sites_in_row if total is not None and len(set(sided.values())) == 1 else None)
                    found.append(Found(target, m.written, m.start, m.end, side=None if target.midline else col,
                                       units=units, units_each=True, sites=n, clause=f.clause,
                                       dose_span=(total or each or (None, None))[1]))
                    if target.midline:  # "Procerus | 1 (midline)": one injection, whatever its column
                        break
                continue
        pairs = side_doses(text, m, sides, free, f.clause, used, note.patterns)
        if len(pairs) >= 2:  # "Adductor magnus: 75u R (2 sites), 75u L (2 sites)": one dose per side
            counted = note.patterns.sites.search(text, *f.clause)  # "(500 U R / 500 U L), 1 site per side"
            for side_label, side_span, amount, span, sites in pairs:
                if sites is None and counted and note.patterns.each.search(text, counted.end(), f.clause[1]):
                    sites = count(counted.group(1))
                found.append(Found(target, m.written, m.start, m.end, side=side_label, side_span=side_span,
                                   units=amount, units_each=True, sites=sites, dose_span=span, clause=f.clause))
            continue
        if not one_dose:
            attach(text, f, free, line, used, note.patterns, note.per_ml)
        if doses_first and f.sites is None:  # "100 U into the detrusor in 20 sites of 0.5 mL (5 U each)"
            stop = min([today[n + 1].start] if n + 1 < len(today) else [s_end])
            later = DOSE.search(text, m.end, stop)
            counted = note.patterns.sites.search(text, m.end, later.start() if later else stop)
            if counted:
                f.sites = count(counted.group(1))
        if f.side is None and not target.midline and _plural(note.lexicon, m):
            f.side = "bilateral"  # a paired target named in the plural, without a side: both
        if f.units == 0:  # "pronator teres | 0 U": named with no dose, not injected
            record.exclude(m.written, m.start, m.end, "zero dose")
            continue
        evidence = (f.units is not None or f.sites is not None or f.per_kg is not None
                    or (f.side is not None and not limb_side)
                    or line.cells is not None or line.row or INJECTED.search(text, s_start, s_end))
        if not evidence:  # named in passing, not as an injection
            record.exclude(m.written, m.start, m.end, "mentioned")
            continue
        if f.side is None and after is not None and after.entry.kind == "target" and re.fullmatch(
                r"\s*(?:,|and|&|or)\s*(?:the\s+)?", text[m.end:after.start]):
            shared = _adjacent_side(text, after, sides, today, before) or _later_side(after, sides, today, s_end)
            if shared is not None:  # "the adductor longus and adductor magnus on both sides"
                f.side, f.side_span = shared
        if f.side is None and target.laterality_matters and not target.midline and note.carried is not None \
                and not line.row and "\n\n" not in text[note.carried[2]:s_start]:
            f.side, f.side_span = note.carried[0], note.carried[1]  # the side the paragraph gave its first sentence
        if f.side is None and target.laterality_matters and not target.midline:
            record.unresolve((m.start, m.end), "side-missing", text=_clause(m, today, n, s_end))
            continue
        found.append(f)
    if line.cells is None and len(found) - first > 1:
        _sites_for_all(note, (s_start, s_end), today[-1].end, found[first:])
    # "On the right side the orbicularis oculi ... . In the lower face the zygomaticus ...": a side
    # that opens a sentence of prose, before its first target, holds for the paragraph's next sentences
    leading = [x for x in sides if s_start <= x.start and x.end <= today[0].start and x.entry.label != "bilateral"]
    if not line.row and line.cells is None and leading and len({x.entry.label for x in sides}) == 1:
        note.carried = (leading[0].entry.label, (leading[0].start, leading[0].end), s_end)
    elif line.row or line.cells is not None or len({x.entry.label for x in sides}) > 1:
        note.carried = None


SIDE_COLUMNS = {"left", "right", "sites right", "sites left", "sites right left", "sites left right"}


def table_sides(text: str, line: Line, patterns: Patterns) -> dict[str, int]:
    """The sites of each side a table row gives: "2/2" under "Sites R/L", a count under "Sites R"
    and "Sites L", a bare count in brackets after a side's dose ("1500 U (2)")."""
    out: dict[str, int] = {}
    for role, order in (("sites right left", ("right", "left")), ("sites left right", ("left", "right"))):
        if role in line.roles and line.roles.index(role) < len(line.cells):
            s, e = line.cells[line.roles.index(role)]
            parts = re.fullmatch(r"\s*(\d+|-|–|—)?\s*/\s*(\d+|-|–|—)?\s*", text[s:e])
            if parts:
                for side, value in zip(order, parts.groups()):
                    if value and value.isdigit() and int(value) > 0:
                        out[side] = int(value)
    for side in ("right", "left"):
        value = cell_number(text, line, f"sites {side}", patterns)
        if value is not None and value[0] > 0:
            out[side] = int(value[0])
        dose = cell_number(text, line, side, patterns)
        if side not in out and dose is not None:
            s, e = line.cells[line.roles.index(side)]
            n = bracketed_count(text, dose[1][1], e)
            if n:
                out[side] = n
    return out


def _sites_for_all(note: Note, sentence: tuple[int, int], after: int, found: list[Found]) -> None:
    """"..., each in two sites", "..., one site each" after the last target of a list: the sites of
    every target of the sentence that has none."""
    m = note.patterns.sites_each.search(note.text, after, sentence[1])
    last = found[-1].dose_span[1] if found[-1].dose_span else after
    if m and not DOSE.search(note.text, last, m.start()):  # no other dose between the list and the count
        n = count(m.group(1) or m.group(2))
        for f in found:
            if f.sites is None and f.units is not None and sentence[0] <= f.start < sentence[1]:
                f.sites = n


def _named_again(m: Mention, earlier: list[Mention]) -> bool:
    """A target's shorter name after its full name in the same sentence ("the left splenius capitis
    ... favouring the splenius"): the same target again."""
    key = normalise(m.written)
    return any(e.entry.kind == "target" and normalise(e.written).startswith(key + " ")
               and e.entry.value.iri != m.entry.value.iri for e in earlier)


def _sides_before(text: str, mentions: list[Mention], today: list[Mention]) -> dict[int, Mention]:
    """The words that are a side only right before a target ("each axilla", "both palms", "each
    anterior belly of the digastric"), by the start of the target they stand before."""
    before: dict[int, Mention] = {}
    for b in (x for x in mentions if x.entry.kind == "side-before"):
        after = next((t for t in today if t.start >= b.end), None)
        if after is not None and re.fullmatch(r"\s*(?:the\s+)?|\s+[a-z]+(?:\s+[a-z]+){0,3}\s+of\s+the\s+",
                                              text[b.end:after.start]):  # "each anterior belly of the digastric"
            before[after.start] = b
    return before


def _by_neighbours(lexicon: Lexicon, m: Mention, today: list[Mention], mentions: list[Mention] = (),
                   found: list[Found] = ()) -> Target | None:
    """An ambiguous name's one candidate in the billing region of all the other targets of its
    sentence ("right paraspinal, right levator scapulae, right splenius capitis"), else of the limb
    its sentence names ("LUE | Lumbricals"), else of every target the note read before it."""
    glands = all(c.iri in lexicon.glands for c in map(lambda c: lexicon.names.resolve_target(c).target,
                                                       m.entry.candidates) if c is not None)
    regions = {t.entry.value.region for t in today if t.entry.kind == "target"
               and (t.entry.value.iri in lexicon.glands) == glands}  # "lumbricals ... through the palm"
    if not regions:
        regions = {x.entry.value for x in mentions if x.entry.kind == "limb"}
    if not regions:
        regions = {f.target.region for f in found}
    if len(regions) != 1:
        return None
    names = lexicon.names
    fits = [names.resolve_target(c).target for c in m.entry.candidates]
    fits = [t for t in fits if t is not None and t.region in regions]
    return fits[0] if len(fits) == 1 else None


def _completed(note: Note, m: Mention, limit: int) -> Mention | None:
    """An ambiguous name followed by a word that makes it, spelt one slip off, exactly one target's
    name ("flexor digitorum profundis"): that target, the reading recorded."""
    word = re.compile(r"\s+([A-Za-z][A-Za-z'-]+)").match(note.text, m.end, limit)
    if word is None:
        return None
    written = note.text[m.start:word.end(1)]
    key = normalise(written)
    names = note.lexicon.names
    close = difflib.get_close_matches(key, list(names.targets), n=3, cutoff=0.85)
    if len({names.targets[c].label for c in close}) != 1 or key in names.targets:
        return None
    target = names.targets[close[0]]
    if target.label not in m.entry.candidates:
        return None
    note.record.choose(written, m.start, word.end(1), target.label, f"a close spelling of {close[0]!r}")
    return Mention(Entry("target", target, target.label), m.start, word.end(1), m.first, m.last + 1, written)


def misspelled(note: Note, mentions: list[Mention], doses: list[Dose], labelled: dict, s_start: int,
               regions: set | None = None) -> Mention | None:
    """A list item or table row with a dose whose name the ontology does not know: a name one
    spelling slip from exactly one target's is read as that target and the reading recorded
    (provenance: settled_by_context); any other name is an unknown target, unresolved."""
    text, lexicon = note.text, note.lexicon
    free = [span for _, span, _ in doses if span not in labelled
            and not re.search(r"(?:\bper|/)\s*$", text[max(0, span[0] - 6):span[0]])]  # a ratio's
    if not free:
        return None
    head = text[s_start:free[0][0]]
    words = [(w.group(), s_start + w.start(), s_start + w.end()) for w in re.finditer(r"[A-Za-z][A-Za-z'-]+", head)]
    taken = [(m.start, m.end) for m in mentions]
    words = [w for w in words if not any(a <= w[1] < b for a, b in taken) and w[0].lower() not in STOP]
    if any(normalise(w[0]) in lexicon.headings or lexicon.phrases.get(normalise(w[0])) for w in words):
        return None  # a heading or a known word ("Dilution", "Total"), not a misspelt name
    if not words or len(words) > 4 or sum(len(w[0]) for w in words) < 5:
        return None
    start, end = words[0][1], words[-1][2]
    written = text[start:end]
    key = normalise(written)
    names = lexicon.names
    close = difflib.get_close_matches(key, list(names.targets), n=3, cutoff=0.85)
    if regions:  # among known names of one region ("lat gastroc 20u x1, solues 20u x1"): a name of that region
        close = [c for c in difflib.get_close_matches(key, list(names.targets), n=5, cutoff=0.8)
                 if names.targets[c].region in regions]
    labels = {names.targets[c].label for c in close}
    if len(labels) == 1 and len(key) >= 6:
        target = names.targets[close[0]]
        note.record.choose(written, start, end, target.label, f"a close spelling of {close[0]!r}")
        return Mention(Entry("target", target, target.label), start, end, 0, 0, written)
    suggestions = [c for c in difflib.get_close_matches(key, list(names.targets), n=3, cutoff=0.75)]
    if suggestions:  # a name near a target's: unknown, say so (words far from any name are not one)
        note.record.unresolve((start, end), "unknown-target", tuple(names.suggest(written)), text=(start, free[0][1]))
    return None


def _later_side(m: Mention, sides: list[Mention], today: list[Mention], s_end: int):
    """A side word after a target, before the next target: "adductor magnus on both sides"."""
    nxt = min((t.start for t in today if t.start > m.end), default=s_end)
    later = [s for s in sides if m.end <= s.start and s.end <= nxt]
    return (later[0].entry.label, (later[0].start, later[0].end)) if later else None


def _plural(lexicon: Lexicon, m: Mention) -> bool:
    words = normalise(m.written).split()
    while len(words) > 1 and words[-1] in ("muscle", "muscles", "m"):
        words = words[:-1]
    key = " ".join(words)
    if key in lexicon.names.targets or not key.endswith("s"):
        return key in ("axillae", "palms", "soles") or normalise(m.written).endswith("muscles")
    return True


def _clause(m, today, n, s_end) -> tuple[int, int]:
    hi = today[n + 1].start if n + 1 < len(today) else s_end
    return (m.start, hi)


def _adjacent_side(text: str, m: Mention, sides: list[Mention], today: list[Mention], before: dict[int, Mention]):
    """The side word right before a target ("right SCM", "each axilla"), else right after it
    ("SCM (R)"), unless it stands before the next target."""
    word = before.get(m.start)
    if word is not None:  # "each axilla", "both palms"
        return word.entry.label, (word.start, word.end)
    for k, s in enumerate(sides):
        if s.end <= m.start:
            gap = text[s.end:m.start]
            if len(gap) > 16:  # too far to be its side: not read (a long sentence has many side words)
                continue
            words = [w.lower() for w in TOKEN.findall(gap)]
            if all(w in STOP for w in words) and not re.search(r"[,;|]", gap):
                other = sides[k - 1] if k else None  # "right and left occipitalis": both
                if other is not None and other.entry.label != s.entry.label and re.fullmatch(
                        r"\s*(?:and|&|,|/)\s*", text[other.end:s.start]):
                    return "bilateral", (other.start, s.end)
                return s.entry.label, (s.start, s.end)
    starts = sorted(t.start for t in today if t.start > m.end)
    nxt = starts[0] if starts else len(text)
    for s in sides:
        if s.start >= m.end and s.end <= nxt:
            gap = text[m.end:s.start]
            if len(gap) > 20:
                continue
            words = [w.lower() for w in TOKEN.findall(gap)]
            if all(w in STOP or w in ("side",) for w in words) and not re.search(r"\d|\|", gap):
                follow = text[s.end:nxt]
                if nxt < len(text) and all(w.lower() in STOP for w in TOKEN.findall(follow)) \
                        and not re.search(r"[,;:(]", follow):
                    continue  # the side word stands before the next target: it is that one's
                return s.entry.label, (s.start, s.end)
    return None


def _cell_value(text: str, lexicon: Lexicon, line: Line, role: str):
    """The side named in a table row's cell of a role, and the cell's span."""
    if line.cells is None or not line.roles or role not in line.roles:
        return None
    s, e = line.cells[line.roles.index(role)] if line.roles.index(role) < len(line.cells) else (None, None)
    if s is None:
        return None
    key = normalise(text[s:e])
    iri = lexicon.names.enum("side", key)
    if iri is None:
        return None
    return lexicon.names.name_of(iri), (s, e)


def session_injections(note: Note, found: list[Found]) -> list[dict]:
    """One injection per target and side: a bilateral one is two (an amount written once for
    both is split, one written "each" is each side's); a target named again (its two heads,
    extra sites, or in passing) adds its units and sites to the first. Each one's spans go to
    the record."""
    merged: dict = {}
    for f in found:
        if f.side == "bilateral":
            half = f.units if f.units is None or f.units_each else f.units / 2
            parts = [Found(f.target, f.written, f.start, f.end, side=side, side_span=f.side_span, units=half,
                           units_each=True, sites=f.sites, dose_span=f.dose_span, clause=f.clause)
                     for side in ("left", "right")]
        else:
            parts = [f]
        for part in parts:
            key = (part.target.iri, part.side)
            first = merged.get(key)
            if first is None:
                merged[key] = part
                continue
            if part.units is not None:
                first.units = (first.units or 0) + part.units
            if part.sites is not None:
                first.sites = (first.sites or 0) + part.sites
    spans = note.record.spans
    out: list[dict] = []
    for f in merged.values():
        item: dict = {"id": f"i{len(out) + 1}", "muscle": f.target.label}
        if f.side is not None and not f.target.midline:  # a midline target has no side
            item["side"] = f.side
        if f.units is not None and f.units > 0:
            item["units"] = number(f.units)
        if f.sites is not None:
            item["sites"] = f.sites
        index = len(out)
        clause = f.clause
        if f.side_span and f.side_span[0] < clause[0] and "\n" not in note.text[f.side_span[0]:clause[0]]:
            clause = (f.side_span[0], clause[1])  # "Right biceps 100 U": the side word with it
        spans[f"injections[{index}]"] = [clause]
        spans[f"injections[{index}].muscle"] = [(f.start, f.end)]
        if f.side_span:
            spans[f"injections[{index}].side"] = [f.side_span]
        if f.dose_span:
            spans[f"injections[{index}].units"] = [f.dose_span]
        out.append(item)
    return out
