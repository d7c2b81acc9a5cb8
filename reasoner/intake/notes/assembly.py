"""Reading a whole note into a session: each sentence's doses labelled by their field cues, the
things it names (guidance, approach, setting, product, indication) and its targets of today;
then the amounts worked out, the doses left without a target, the drug, and the single fields
(patient, date of service, diagnoses, indication); `extract` returns the Extraction."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from ...knowledge import icd10cm
from ...knowledge.names import normalise
from ...knowledge.reading import Lexicon
from . import doses as amounts
from . import injections
from .doses import Found
from .injections import Limbs, Note, Sentence
from .mentions import contexts, find, tokens
from .patterns import number, patterns
from .provenance import Extraction, Record
from .structure import Layout, Line

NDC = re.compile(r"\b(\d{4,5}-\d{3,4}-\d{1,2})\b")
ICD = re.compile(r"(?<![A-Za-z0-9.\-])([A-TV-Za-tv-z][0-9][0-9ABab](?:\.[0-9A-Za-z]{1,4})?)(?![A-Za-z0-9\-]|\.\d)")
MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                      "dec"), start=1)}
DATES = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})/(\d{1,2})/(\d{2,4})\b"
                   r"|\b([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b|\b(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})\b")
PLACED = re.compile(r"\b(?:placed|injected|distributed|given|infiltrated|delivered|spread)\b[^.;]*"
                    r"\b(?:where|into|in|at|to|through|along|over)\b",
                    re.I)


@dataclass
class Gathered:
    """What the sentences of a note gave, before the session is put together."""

    found: list[Found] = field(default_factory=list)
    used: set[tuple[int, int]] = field(default_factory=set)  # the spans of the doses given to a target
    guidance: dict[str, tuple[int, int]] = field(default_factory=dict)
    negated_guidance: set[str] = field(default_factory=set)
    product: tuple | None = None  # the first named today: (label, span)
    approach: tuple | None = None
    setting: tuple | None = None
    indication: tuple | None = None
    field_doses: list[tuple[str, float, tuple[int, int]]] = field(default_factory=list)  # totals, waste, vials
    loose_doses: list[tuple[float, tuple[int, int], Line]] = field(default_factory=list)  # doses of no target
    per_site: float | None = None  # an amount per site given once ("Dose per site 5 U")
    total_sites: int | None = None  # the sites counted beside the units given ("155 U at 31 sites")
    weight: float | None = None


class Reader:
    def __init__(self, text: str, lexicon: Lexicon, source: str):
        self.text = text
        self.lexicon = lexicon
        self.patterns = patterns(lexicon)
        self.source = source
        self.record = Record(text)
        self.layout = Layout(text, lexicon)
        self.note = Note(text, lexicon, self.patterns, self.record, Limbs(), amounts.concentration(text))

    # -- the whole note ---------------------------------------------------------
    def read(self) -> dict:
        gathered = Gathered()
        for s_start, s_end, line in self.layout.sentences:
            self._sentence(s_start, s_end, line, gathered)
        # per-site and per-kilogram amounts, and what was left without a target
        amounts.settle(gathered.found, gathered.weight, gathered.per_site, self.record)
        self._loose_doses(gathered)
        return self._session(gathered)

    def _sentence(self, s_start: int, s_end: int, line: Line, gathered: Gathered) -> None:
        text = self.text
        mentions = find(text, tokens(text, s_start, s_end), self.lexicon)
        context = contexts(mentions, line)
        doses = amounts.doses(text, s_start, s_end)
        # field cues label doses: totals, waste, vials
        labelled: dict[tuple[int, int], str] = {}
        for amount, span, per_kg in doses:
            label = None if per_kg else amounts.label(text, mentions, span, self.patterns)
            if label:
                labelled[span] = label
                if context(span[0]) is None:
                    gathered.field_doses.append((label, amount, span))
                    counted = self.patterns.sites.search(text, s_start, s_end)
                    if label == "units_administered" and counted:  # "Total 195 units at 39 sites"
                        gathered.total_sites = amounts.count(counted.group(1))
        if context(s_start) is None:
            waste, per_site, weight = amounts.sentence_amounts(text, s_start, s_end, doses, labelled, self.patterns)
            if waste is not None:
                gathered.field_doses.append(("units_discarded", 0.0, waste))
            if per_site is not None:
                gathered.per_site = per_site
            if weight is not None:
                gathered.weight = weight
        # a table's total row
        if line.cells is not None and line.roles and "muscle" in line.roles and line.roles.index("muscle") < len(
                line.cells):
            cs, ce = line.cells[line.roles.index("muscle")]
            cue = self.lexicon.phrases.get(normalise(text[cs:ce]), [])
            total = amounts.cell_number(text, line, "units", self.patterns)
            if total and any(e.kind == "field" and e.value == "units_administered" for e in cue):
                gathered.field_doses.append(("units_administered", total[0], total[1]))
        # the things named
        self._named(mentions, context, gathered)
        # targets of today
        today = []
        for m in (m for m in mentions if m.entry.kind in ("target", "ambiguous")):
            ctx = context(m.start)
            if ctx is not None and ctx.excludes:
                self.record.exclude(m.written, m.start, m.end, ctx.label)
                continue
            today.append(m)
        if today and line.cells is None:  # "the left thyroarytenoid and 1.5 U was given": the target's, not a total
            for span, label in list(labelled.items()):
                near = text[max(s_start, span[0] - 30):min(s_end, span[1] + 20)]
                summed = re.search(r"=\s*$", text[s_start:span[0]]) is not None  # "20 points x 2.5 U = 50 U"
                into = next((t for t in today if t.start >= span[1]), None)  # "5 units were given to each ... digastric"
                before_target = into is not None and re.fullmatch(
                    r"\s*(?:was|were)\s+(?:given|injected|placed|administered)\s+(?:in|into|to|at)\b[^.;,:()]{0,40}",
                    text[span[1]:into.start])
                if label == "units_administered" and (any(t.end <= span[0] for t in today) or before_target) \
                        and not re.search(r",\s*for\s*$", text[s_start:span[0]]) \
                        and not self.patterns.total.search(near.replace("=", " ") if summed else near):
                    del labelled[span]
                    gathered.field_doses = [d for d in gathered.field_doses if d[2] != span]
        if context(s_start) is None or not today:
            self.note.limbs.announce([m for m in mentions if m.entry.kind in ("side", "limb")])
        if today and line.row and line.cells is None and context(s_start) is None:
            # "med gastroc 50u x2, lat gastroc 20u x1, solues 20u x1": a misspelt name among known ones
            for seg in re.finditer(r"[^,;>]+", text[s_start:s_end]):
                a, b = s_start + seg.start(), s_start + seg.end()
                if any(a <= m.start < b for m in today) or not any(a <= sp[0] < b for _, sp, _ in doses):
                    continue
                spelled = injections.misspelled(self.note, mentions, [d for d in doses if a <= d[1][0] < b],
                                                labelled, a, {m.entry.value.region for m in today
                                                              if m.entry.kind == "target"})
                if spelled is not None:
                    today = sorted(today + [spelled], key=lambda x: x.start)
                    mentions = sorted(mentions + [spelled], key=lambda x: x.start)
        if not today and (line.row or line.cells is not None) and context(s_start) is None:
            spelled = injections.misspelled(self.note, mentions, doses, labelled, s_start)
            if spelled is not None:
                today.append(spelled)
                mentions = sorted(mentions + [spelled], key=lambda x: x.start)
        if not today and gathered.found and line.cells is None:
            self._dose_after(gathered, labelled, s_start, s_end)
        if not today:
            for amount, span, _ in doses:
                if span not in labelled and context(span[0]) is None:
                    gathered.loose_doses.append((amount, span, line))
            return
        injections.read(self.note, Sentence(s_start, s_end, line, mentions, doses, labelled), today, gathered.found,
                        gathered.used)

    def _dose_after(self, gathered: Gathered, labelled: dict, s_start: int, s_end: int) -> None:
        """"... to the left PCA; placement confirmed on sniffing. 3.75 U injected.": a dose said to be
        given, not a total, in a sentence of no target, is the dose of the target named just before
        it without one (in the same paragraph, no other dose between)."""
        text, last = self.text, gathered.found[-1]
        amounts_ = [(span, label) for span, label in labelled.items() if label == "units_administered"
                    and not self.patterns.total.search(text, max(s_start, span[0] - 30), min(s_end, span[1] + 20))]
        if len(amounts_) != 1 or last.units is not None or last.per_kg is not None:
            return
        span = amounts_[0][0]
        between = text[last.end:span[0]]
        if "\n\n" in between or re.search(r"\d\s*(?:U|units?|mL|ml)\b", between) or len(between) > 200:
            return
        last.units, last.dose_span = next(a for a, sp, _ in amounts.doses(text, s_start, s_end) if sp == span), span
        del labelled[span]
        gathered.field_doses = [d for d in gathered.field_doses if d[2] != span]
        gathered.used.add(span)

    @staticmethod
    def _named(mentions, context, gathered: Gathered) -> None:
        """Guidance (and guidance said not to be used), the approach, the setting, the product and
        the indication a sentence names."""
        for m in mentions:
            ctx = context(m.start)
            excluded = ctx is not None and ctx.excludes
            kind = m.entry.kind
            if kind == "guidance":
                name = m.entry.label
                if excluded:
                    if ctx.label == "NegatedContext":
                        gathered.negated_guidance.add(name)
                else:
                    gathered.guidance.setdefault(name, (m.start, m.end))
            elif kind == "approach" and not excluded and gathered.approach is None:
                gathered.approach = (m.entry.label, (m.start, m.end))
            elif kind == "setting" and not excluded and gathered.setting is None:
                gathered.setting = (m.entry.label, (m.start, m.end))
            elif kind == "product" and not excluded and gathered.product is None:
                gathered.product = (m.entry.label, (m.start, m.end))
            elif kind == "indication" and gathered.indication is None and (ctx is None or ctx.label != "NegatedContext"):
                gathered.indication = (m.entry.label, (m.start, m.end))

    def _loose_doses(self, gathered: Gathered) -> None:
        text = self.text
        for _, span, line in gathered.loose_doses:
            if span in gathered.used:
                continue
            sentence = self.layout.sentence_of(span)
            # only a dose said to go somewhere ("50 units were placed where the tone was worst"),
            # not one of a list whose targets sit elsewhere (a table's cells, the sentence before)
            if line.context is not None and not line.context.excludes and line.context.label in (
                    "ProcedureContext",) and not amounts.is_dilution(text, span) and not line.row and line.cells is None \
                    and PLACED.search(sentence) and not re.search(r"\d\s*(?:U|units?)\b[^.;]*\d\s*(?:U|units?)\b",
                                                                   sentence):
                self.record.unresolve(span, "dose-unattached", text=self.layout.sentence_span(span))

    def _session(self, gathered: Gathered) -> dict:
        text, spans = self.text, self.record.spans
        session: dict = {}
        # the drug
        administered = discarded = None
        vials: list[float] = []
        for label, amount, span in gathered.field_doses:
            if label == "units_administered":  # the last total written: notes end with the totals
                administered = (amount, span)
            elif label == "units_discarded" and discarded is None:
                discarded = (amount, span)
            elif label == "vial_units":
                vials.extend([amount] * amounts.vial_count(text, span, self.patterns))
                spans.setdefault("agent.vial_units", []).append(span)
        amounts.reconcile(gathered.found, administered[0] if administered else None)
        amounts.spread(gathered.found, administered[0] if administered else None, gathered.total_sites)
        injected = injections.session_injections(self.note, gathered.found)
        if administered is None and injected and all("units" in i for i in injected):
            administered = (sum(i["units"] for i in injected), None)
        # assemble
        ident = self._patient()
        if ident:
            session["patient"] = ident
        date = self._date()
        if date:
            session["date"] = date
        diagnoses = self._diagnoses()
        if diagnoses:
            session["diagnoses"] = diagnoses
        if gathered.setting:
            session["setting"] = gathered.setting[0]
            spans["setting"] = [gathered.setting[1]]
        if gathered.approach:
            session["approach"] = gathered.approach[0]
            spans["approach"] = [gathered.approach[1]]
        guidance = gathered.guidance
        kinds = [g for g in guidance if g not in gathered.negated_guidance or guidance[g]]
        session["guidance"] = kinds
        for n, g in enumerate(kinds):
            spans[f"guidance[{n}]"] = [guidance[g]]
        if gathered.indication:
            session["indication"] = gathered.indication[0]
            spans["indication"] = [gathered.indication[1]]
        else:
            written = self._indication_text()
            if written:
                session["indication"], span = written
                spans["indication"] = [span]
        product = gathered.product
        if product and administered is not None:
            agent: dict = {"product": product[0]}
            spans["agent.product"] = [product[1]]
            ndc = self._first(NDC)
            if ndc:
                agent["ndc"] = ndc[0]
                spans["agent.ndc"] = [ndc[1]]
            agent["units_administered"] = number(administered[0])
            if administered[1]:
                spans["agent.units_administered"] = [administered[1]]
            if discarded is not None:
                agent["units_discarded"] = number(discarded[0])
                spans["agent.units_discarded"] = [discarded[1]]
            lot = self._first(self.patterns.lot)
            if lot:
                agent["lot"] = lot[0]
                spans["agent.lot"] = [lot[1]]
            if vials:
                agent["vial_units"] = number(vials[0]) if len(vials) == 1 else [number(v) for v in vials]
            session["agent"] = agent
        session["injections"] = injected
        return session

    # -- single fields ----------------------------------------------------------
    def _first(self, pattern: re.Pattern) -> tuple[str, tuple[int, int]] | None:
        for m in pattern.finditer(self.text):
            line = self.layout.line_at(m.start())
            if line.context is not None and line.context.label == "HistoricalContext":
                continue
            return m.group(1), (m.start(1), m.end(1))
        return None

    def _patient(self) -> str | None:
        m = self.patterns.patient.search(self.text)
        if m:
            self.record.spans["patient"] = [(m.start(1), m.end(1))]
            return m.group(1)
        return None

    def _date(self) -> str | None:
        for m in self.patterns.date.finditer(self.text):
            d = DATES.match(self.text, m.end())
            if d:
                value = _parse_date(d)
                if value:
                    self.record.spans["date"] = [(d.start(), d.end())]
                    return value
        return None

    def _diagnoses(self) -> list[str]:
        codes: list[str] = []
        for m in ICD.finditer(self.text):
            written = m.group(1)
            line = self.layout.line_at(m.start())
            cue = self.patterns.diagnosis.search(line.text) or (
                line.context is not None and line.context.label == "IndicationContext")
            if "." not in written and not cue:
                continue
            code, status, hint = icd10cm.lookup(written)
            if status == icd10cm.BILLABLE:
                if code not in codes and len(codes) < 12:
                    codes.append(code)
                    self.record.spans.setdefault("diagnoses", []).append((m.start(1), m.end(1)))
            elif status == icd10cm.NOT_BILLABLE and cue:
                self.record.unresolve((m.start(1), m.end(1)), "diagnosis-not-billable", hint)
        return codes

    def _indication_text(self) -> tuple[str, tuple[int, int]] | None:
        for line in self.layout.lines:
            if line.heading_end and self.patterns.indication.match(line.text):
                rest = line.text[line.heading_end:]
                first = re.split(r"(?<=[a-z)])[.;]\s", rest.strip(), maxsplit=1)[0].strip().rstrip(".")
                if first:
                    start = line.start + line.heading_end + rest.find(first[:10])
                    return first[:200], (start, start + len(first[:200]))
        return None


def _parse_date(m: re.Match) -> str | None:
    g = m.groups()
    try:
        if g[0]:
            day = datetime.date(int(g[0]), int(g[1]), int(g[2]))
        elif g[3]:
            year = int(g[5])
            year = year + 2000 if year < 100 else year
            day = datetime.date(year, int(g[3]), int(g[4]))
        elif g[6]:
            month = MONTHS.get(g[6][:3].lower())
            if month is None:
                return None
            day = datetime.date(int(g[8]), month, int(g[7]))
        else:
            month = MONTHS.get(g[10][:3].lower())
            if month is None:
                return None
            day = datetime.date(int(g[11]), month, int(g[9]))
    except ValueError:
        return None
    return day.isoformat()


def extract(text: str, lexicon: Lexicon, *, source: str = "<note>") -> Extraction:
    """Read one procedure note."""
    reader = Reader(text, lexicon, source)
    session = reader.read()
    name = source.rsplit("/", 1)[-1]
    ident = name[:-4] if name.lower().endswith(".txt") else name
    session = {"id": ident if ident and not ident.startswith("<") else "note", **session}
    record = reader.record
    return Extraction(source, text, session, record.spans, record.unresolved, record.excluded, record.chosen)
