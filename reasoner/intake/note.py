"""Reading a procedure note: plain text in, a session in the documented input format out, with
the character span each fact came from and what could not be settled (`unresolved`).

The reader is rule-based, after the ConText algorithm: the note is cut into sections (by their
headings) and sentences (or table rows, list items); names are found by the longest phrase the
ontology knows; a target counts as injected today unless its section or a trigger in its
sentence (negation, history, plan, examination) puts it out; its side is the side word next to
it, else its table column, else the last side word of its sentence, else its heading's; its dose
is the amount written in its clause (per site, per side, per kilogram worked out). Every word
list comes from the ontology (knowledge/reading.py); nothing here names a muscle or a code.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import re
from dataclasses import dataclass, field

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from ..core.vocab import CD, OA
from ..knowledge import icd10cm
from ..knowledge.names import Target, normalise
from ..knowledge.reading import Entry, Lexicon

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.'’][A-Za-z0-9]+)*")
_JOINING_GAP = re.compile(r"[\s\-/']*")  # what may stand between the words of one phrase
_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
_DOSE = re.compile(_NUMBER + r"\s*-?\s*(?:U|IU|u|iu|[Uu]nits?|UNITS?)(?![A-Za-z])(\s*/\s*kg)?")
_TIMES = re.compile(r"^\s*(?:x|×|X|\*)\s*" + _NUMBER + r"(?!\s*(?:mL|ml|cc|mg|kg))")
_WORDS = {w: n for n, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                       "eleven", "twelve"), start=1)} | {"single": 1, "a": 1}
_COUNT = r"(\d+|" + "|".join(_WORDS) + r")"
_NDC = re.compile(r"\b(\d{4,5}-\d{3,4}-\d{1,2})\b")
_WEIGHT = re.compile(_NUMBER + r"\s*kg\b(?!\s*/)", re.I)
_ICD = re.compile(r"(?<![A-Za-z0-9.\-])([A-TV-Za-tv-z][0-9][0-9ABab](?:\.[0-9A-Za-z]{1,4})?)(?![A-Za-z0-9\-]|\.\d)")
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                                       "dec"), start=1)}
_DATES = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})/(\d{1,2})/(\d{2,4})\b"
                    r"|\b([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b|\b(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})\b")
_HEADING = re.compile(r"^[ \t]*(?:[-*•·]\s*|o\s+(?=[A-Za-z]))?([A-Za-z][A-Za-z0-9 /&()'’.#,-]{0,60}?)\s*(?::|\s-{1,2}\s|\s—\s)")
_BULLET = re.compile(r"^\s*(?:[-*•·+o]|\d{1,2}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bapprox)(?<!\bDr)(?<!\bno)(?<!\d)[.!?]"
                           r"(?=\s+[A-Z(\[\-*•\d]|\s*$|[ \t]*\n)"
                           r"|;|(?<=\d)\.(?=\s+[A-Z])")
_TABLE_ROLES = {"muscle": ("muscle", "muscles", "target", "targets", "structure", "site", "location", "muscle injected",
                           "muscle group", "region", "gland"),
                "side": ("side", "laterality", "l r", "r l", "side l r"),
                "units": ("units", "unit", "dose", "u", "units u", "dose u", "total", "total u", "units per side",
                          "amount"),
                "sites": ("sites", "site", "sites n", "n sites", "no of sites", "number of sites", "points", "injections",
                          "injection sites"),
                "left": ("left", "l", "lt", "left u", "l u", "left units", "left side", "left dose"),
                "right": ("right", "r", "rt", "right u", "r u", "right units", "right side", "right dose")}
_SIDE_FIELD = re.compile(r"(?:^\s*|[-|,;*•]\s*|\s{2,})side\s*[:=]\s*([A-Za-z/]+)?", re.I)
_PLACED = re.compile(r"\b(?:placed|injected|distributed|given|infiltrated|delivered)\b[^.;]*\b(?:where|into|in|at|to)\b",
                     re.I)
_INJECTED = re.compile(r"\binject(?:ed|ion|ions|ing)?\b|\btreated\b|\bgiven\b|\breceived\b|\bplaced\b", re.I)
_STOP = {"the", "of", "into", "to", "in", "at", "on", "a", "and", "with", "muscle", "muscles", "m", "side", "sided"}


def _words(phrases) -> str:
    """A regular expression matching any of the phrases (longest first): the words with any
    whitespace between them, a punctuation mark ("lot #") with or without a space before it."""
    parts = []
    for phrase in sorted({p.lower() for p in phrases}, key=lambda p: (-len(p), p)):
        tokens = re.findall(r"\w+|[^\w\s]", phrase)
        pattern = ""
        for k, token in enumerate(tokens):
            if k:
                pattern += r"\s+" if tokens[k - 1][-1].isalnum() and token[0].isalnum() else r"\s*"
            pattern += re.escape(token)
        if pattern:
            parts.append(pattern)
    return "(?:" + "|".join(parts) + ")" if parts else "(?!)"


class Patterns:
    """The reader's patterns for the words of ontology/reading.ttl's field cues (lexicon.cues):
    site counts, per site and per side amounts, vials, waste, the lot, the patient, the date of
    service, the lines of diagnoses and the indication. What is not a word (numbers, units,
    punctuation) is written here."""

    def __init__(self, cues: dict[str, tuple[str, ...]]):
        sites = _words(cues.get("sites", ()))
        qualifier = _words(cues.get("sites qualifier", ()))
        per_site = _words(cues.get("per site", ()))
        each = _words(cues.get("each", ()))
        vial = _words(cues.get("vial_units", ()))
        discarded = _words(cues.get("units_discarded", ()))
        # "4 sites", "three separate injection points", "a site"
        self.sites = re.compile(r"\b" + _COUNT + r"\s*(?:" + qualifier + r"\s+)?" + sites + r"\b", re.I)
        # "2 sites x 4 U", "4 x 5 units": sites times the amount per site
        self.times_sites = re.compile(_NUMBER + r"\s*(?i:" + sites + r")?\s*(?:x|×|X)\s*" + _NUMBER
                                      + r"\s*(?:U|IU|u|[Uu]nits?)(?![A-Za-z])")
        # "x3" after a target: its sites (not "x 2 vials", "x 3 weeks")
        self.bare_times = re.compile(r"(?<![\w.])[x×]\s*(\d{1,2})\b(?!\s*(?:mL|ml|cc|(?i:" + vial + r")|weeks?|wks?|/))")
        self.times_vials = re.compile(r"\s*(?:x|×|X)\s*\d+\s*(?:(?i:" + vial + r")|mL)")
        # "none wasted", "0 U discarded", "Waste: 0"
        self.zero_waste = re.compile(r"\b(?:no|none|nothing|zero|0\s*(?:U|units?)?)\s*(?:was\s+|were\s+)?" + discarded
                                     + r"\b|\b" + discarded + r"\s*[:=]?\s*(?:none|nil|0(?!\.\d)(?:\s*U)?)\b", re.I)
        # an amount per site: in a sentence, near a dose, right after a dose; "5 U each: procerus (1), ..."
        self.per_site_sentence = re.compile(r"\b" + per_site + r"\b|/\s*" + sites + r"\b|\d\s*(?:U|units?)\s+" + each
                                            + r"\s*:", re.I)
        self.per_site_near = re.compile(r"\b" + per_site + r"|/\s*" + sites, re.I)
        self.per_site_after = re.compile(r"\s*(?:/\s*" + sites + r"|" + per_site + r")\b", re.I)
        self.each_list = re.compile(r"\s*" + each + r"\s*:", re.I)
        # an amount for each side ("25 U each", "10 U per leg")
        self.each = re.compile(r"\b" + each + r"\b", re.I)
        self.each_after = re.compile(r"\s*" + each + r"\b", re.I)
        # a vial's size: "100 U vial", "vial: 100 U", "2 vials x 200 U", "100 U + 50 U vials"
        self.vial_after = re.compile(r"\s*(?:\(|\[)?\s*" + vial + r"\b", re.I)
        self.vial_before = re.compile(r"\b" + vial + r"\s*(?:x\s*\d+\s*)?(?:of|x|:)?\s*$", re.I)
        self.vial_added = re.compile(r"\s*\+\s*\d+(?:\.\d+)?\s*(?:U|units?)\s+" + vial + r"\b", re.I)
        self.vials_times = re.compile(r"\s*" + vial + r"\s*(?:x|×)\s*(\d+)", re.I)
        self.vials_of = re.compile(r"(\d+)\s*" + vial + r"\s*(?:x|×|of)\s*$", re.I)
        # single fields: the value after its cue
        self.lot = re.compile(r"\b" + _words(cues.get("lot", ())) + r"\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9-]{2,39})", re.I)
        self.patient = re.compile(r"\b" + _words(cues.get("patient", ())) + r"\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9-]{2,40})",
                                  re.I)
        self.date = re.compile(r"\b" + _words(cues.get("date", ())) + r"\b\s*[:#-]?\s*(?:\(\s*)?", re.I)
        self.diagnosis = re.compile(r"\b" + _words(cues.get("diagnoses", ())) + r"\b", re.I)
        self.indication = re.compile(r"\s*" + _words(cues.get("indication", ())) + r"\b", re.I)


@functools.lru_cache(maxsize=8)
def _compiled(cues: tuple[tuple[str, tuple[str, ...]], ...]) -> Patterns:
    return Patterns(dict(cues))


def patterns(lexicon: Lexicon) -> Patterns:
    """The patterns of a lexicon's field cues, compiled once for each set of cues."""
    return _compiled(tuple((name, tuple(phrases)) for name, phrases in sorted(lexicon.cues.items())))


@dataclass
class Unresolved:
    text: str
    start: int
    end: int
    reason: str
    candidates: tuple[str, ...] = ()
    line: int = 0
    column: int = 0

    def as_json(self) -> dict:
        return {"text": self.text, "span": [self.start, self.end], "line": self.line, "column": self.column,
                "reason": self.reason, "candidates": list(self.candidates)}


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


@dataclass
class Extraction:
    """A note read: the session (documented input format), where each fact came from
    (field path -> character spans of the note), and what could not be settled."""

    source: str
    text: str
    session: dict
    spans: dict[str, list[tuple[int, int]]]
    unresolved: list[Unresolved]
    excluded: list[dict] = field(default_factory=list)  # targets named but not injected today, and why
    chosen: list[dict] = field(default_factory=list)  # ambiguous names settled by their neighbours, and how

    def quote(self, start: int, end: int) -> str:
        return " ".join(self.text[start:end].split())

    def position(self, offset: int) -> tuple[int, int]:
        return position(self.text, offset)

    def as_json(self) -> dict:
        doc = dict(self.session)
        doc["unresolved"] = [u.as_json() for u in self.unresolved]
        doc["provenance"] = {"note": self.source, "characters": len(self.text),
                             "spans": {k: [list(s) for s in v] for k, v in self.spans.items()},
                             "not_injected": self.excluded, "settled_by_context": self.chosen}
        return doc


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# ---------------------------------------------------------------------------
# Text structure: tokens, lines, sections, sentences, tables
# ---------------------------------------------------------------------------

@dataclass
class Token:
    text: str
    start: int
    end: int
    norm: str


@dataclass
class Mention:
    entry: Entry
    start: int
    end: int
    first: int  # token indexes
    last: int
    written: str


@dataclass
class Line:
    start: int
    end: int
    text: str
    context: Entry | None  # the section's heading entry
    heading_side: str | None
    heading_end: int  # where the heading ends on this line (0: no heading)
    row: bool
    cells: list[tuple[int, int]] | None = None  # table cells (absolute spans) when in a table
    roles: list[str] | None = None


def _tokens(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end(), normalise(m.group())) for m in _TOKEN.finditer(text)]


def _mentions(text: str, tokens: list[Token], lexicon: Lexicon) -> list[Mention]:
    """The longest known phrase at each place, left to right (a phrase does not cross a comma,
    a bracket or a line's table cell)."""
    found: list[Mention] = []
    joins = [bool(_JOINING_GAP.fullmatch(text, tokens[k].end, tokens[k + 1].start)) for k in range(len(tokens) - 1)]
    prefixes = lexicon.prefixes
    i = 0
    while i < len(tokens):
        keys = [tokens[i].norm]  # the phrases starting here that a known phrase may still be
        while len(keys) < lexicon.longest and i + len(keys) < len(tokens) and joins[i + len(keys) - 1]:
            longer = keys[-1] + " " + tokens[i + len(keys)].norm
            if longer in prefixes or longer[:-1] in prefixes or longer.endswith((" muscle", " muscles", " m")):
                keys.append(longer)
            else:
                break
        hit = None
        for n in range(len(keys), 0, -1):
            key = keys[n - 1]
            last = i + n - 1
            written = text[tokens[i].start:tokens[last].end]
            entries = list(lexicon.entries(key, written))
            target = lexicon.target(key) if not any(e.kind in ("side", "condition") for e in entries) else None
            if target is not None:
                _, what = target
                if isinstance(what, Target):
                    entries.insert(0, Entry("target", what, what.label))
                else:
                    entries.insert(0, Entry("ambiguous", None, what[0], tuple(what[1])))
            if entries:
                hit = (n, entries, written)
                break
        if hit is None:
            i += 1
            continue
        n, entries, written = hit
        for entry in entries:
            found.append(Mention(entry, tokens[i].start, tokens[i + n - 1].end, i, i + n - 1, written))
        i += n
    return found


def _heading(line_text: str, lexicon: Lexicon, titles_list: bool = False) -> tuple[Entry | None, int, str | None]:
    """The section a line opens (its heading entry), where the heading ends, and a side it names.
    titles_list: the next line is a list item, so a short line of words alone ("Right arm") titles it."""
    match = _HEADING.match(line_text)
    text, end = None, 0
    if match:
        text, end = match.group(1), match.end()
    else:
        stripped = line_text.strip()
        words = stripped.split()
        if stripped and stripped.upper() == stripped and any(c.isalpha() for c in stripped) and len(words) <= 8:
            text, end = stripped, len(line_text)
        elif titles_list and 0 < len(words) <= 5 and re.fullmatch(r"[A-Za-z][A-Za-z /&()'-]*", stripped):
            text, end = stripped, len(line_text)
    if text is None:
        return None, 0, None
    words = normalise(text).split()
    side = None
    for i in range(len(words)):
        for n in (3, 2, 1):
            key = " ".join(words[i:i + n])
            entry = next((e for e in lexicon.phrases.get(key, ()) if e.kind == "side"), None)
            if entry is not None and (len(key) > 3 or key.upper() in text or key in ("l", "r", "lt", "rt")):
                side = side or entry.label
                break
        if side:
            break
    found = None
    for n in range(len(words), 0, -1):  # a heading naming the procedure wins
        for i in range(0, len(words) - n + 1):
            key = " ".join(words[i:i + n])
            if key in lexicon.procedure_headings:
                return lexicon.headings[key], end, side
            if found is None and i == 0 and key in lexicon.headings:
                found = lexicon.headings[key]
    if found is None and side is not None:  # "Right upper extremity:", "Left axilla:" open today's injections
        found = next(iter(lexicon.headings[k] for k in sorted(lexicon.procedure_headings)), None)
    return found, end, side


def _split_cells(line: str, base: int) -> tuple[list[tuple[int, int]], str] | None:
    """A table row's cells (absolute spans) and its delimiter kind, or None."""
    delimiter = "|" if "|" in line else "\t" if "\t" in line else "," if (
        re.search(r"\S,\S", line) and line.count(",") >= 2 and not re.search(r",\s", line)) else None
    if delimiter:  # empty cells keep their place
        kind = {"|": "pipe", "\t": "tab", ",": "csv"}[delimiter]
        inner = line.strip()
        lead = len(line) - len(line.lstrip())
        if delimiter == "|":
            inner = inner.strip("|")
            lead = line.find(inner) if inner else lead
        cells, at = [], lead
        for part in inner.split(delimiter):
            s = at + (len(part) - len(part.lstrip()))
            e = at + len(part.rstrip())
            cells.append((base + s, base + max(s, e)))
            at += len(part) + 1
        if not any(e > s and not re.fullmatch(r"[-=+:\s]+", line[s - base:e - base]) for s, e in cells):
            return None
        return cells, kind
    if re.search(r"\S {2,}\S", line.strip()):
        cells = [(base + m.start(), base + m.end()) for m in re.finditer(r"\S+(?: \S+)*", line)]
        return (cells, "spaces") if len(cells) > 1 else None
    return None


def _roles(text: str, cells: list[tuple[int, int]], lexicon: Lexicon) -> list[str] | None:
    """The column roles of a table header, or None when the row is not one."""
    roles = []
    for s, e in cells:
        key = normalise(re.sub(r"[#()]", " ", text[s:e]))
        role = next((r for r, names in _TABLE_ROLES.items() if key in names), None)
        if role is None:  # "OD (right)", "Left (U)": a column of one side's doses
            cell = text[s:e]
            sides = {x.label for w in key.split() for x in lexicon.phrases.get(w, ()) if x.kind == "side"
                     and (len(w) > 2 or w.upper() in cell)}
            if len(sides) == 1 and sides <= {"left", "right"}:
                role = sides.pop()
        if role is None and key.startswith(("muscle", "target")):
            role = "muscle"
        if role is None and key.startswith(("unit", "dose")):
            role = "units"
        roles.append(role or "other")
    if "muscle" in roles and ({"units", "side", "sites", "left", "right"} & set(roles)):
        return roles
    return None


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

class Reader:
    def __init__(self, text: str, lexicon: Lexicon, source: str):
        self.text = text
        self.lexicon = lexicon
        self.patterns = patterns(lexicon)
        self.source = source
        self.unresolved: list[Unresolved] = []
        self.excluded: list[dict] = []
        self.chosen: list[dict] = []  # ambiguous names settled by the targets listed with them
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.lines = self._lines()
        self.limbs: dict = {}  # region -> sides announced for lists without sides ("both legs and the left arm")
        self.row_sides: dict = {}  # (line start, region) -> the side given to that list item
        self.limb_sides: dict = {}  # region -> every side announced for it (one: it holds for the note)

    # -- structure ------------------------------------------------------------
    def _lines(self) -> list[Line]:
        text = self.text
        lines: list[Line] = []
        context: Entry | None = None
        heading_side: str | None = None
        block = False  # the heading titles a block (nothing after its colon): it lasts past one paragraph
        content_seen = False
        table: tuple[list[tuple[int, int]], list[str], str] | None = None
        offset = 0
        raws = text.split("\n")
        for number, raw in enumerate(raws):
            start, end = offset, offset + len(raw)
            offset = end + 1
            if not raw.strip():
                table = None
                if context is not None and context.excludes and (not block or content_seen):
                    context, heading_side = None, None
                elif heading_side is not None and (not block or content_seen):
                    heading_side = None
                lines.append(Line(start, end, raw, context, heading_side, 0, False))
                continue
            if table is not None and re.fullmatch(r"[\s|=+:\-]+", raw):  # a table's rule line
                lines.append(Line(start, end, raw, context, heading_side, end - start, True))
                continue
            cells = _split_cells(raw, start)
            roles = _roles(text, cells[0], self.lexicon) if cells else None
            if roles is not None:
                table = (cells[0], roles, cells[1])
                lines.append(Line(start, end, raw, context, heading_side, end - start, True))
                continue
            following = raws[number + 1] if number + 1 < len(raws) else ""
            entry, heading_end, side = (None, 0, None) if table else _heading(
                raw, self.lexicon, titles_list=bool(_BULLET.match(following)))
            if entry is not None:
                context = entry
                heading_side = side
                block = not raw[heading_end:].strip()
                content_seen = False
            else:
                content_seen = True
            stated = _SIDE_FIELD.search(raw)
            if stated and not _DOSE.search(raw):  # a template's "Side: R" (or left blank) for what follows
                value = normalise(stated.group(1) or "")
                heading_side = next((e.label for e in self.lexicon.phrases.get(value, ()) if e.kind == "side"), None)
                block, content_seen = True, False
            line = Line(start, end, raw, context, heading_side, heading_end if entry is not None else 0,
                        row=bool(table or cells or _BULLET.match(raw) or raw.startswith(("  ", "\t"))
                                 or self._short_item(raw, lines)))
            if table is not None and cells is not None:
                line.cells, line.roles = _align(text, cells[0], table)
            elif table is not None and cells is None:
                table = None
            lines.append(line)
        return lines

    @staticmethod
    def _short_item(raw: str, lines: list[Line]) -> bool:
        """A short line with a dose after a line that ended a sentence (or another such line): an
        item of an unmarked list ("lt trapezius 30 units"), not a wrapped line of prose."""
        if len(raw.strip()) >= 70 or not lines or (len(raw.strip()) >= 50 and not _DOSE.search(raw)):
            return False
        before = lines[-1]
        return before.row or not before.text.strip() or before.text.rstrip().endswith((".", ":", ";"))

    def _sentences(self) -> list[tuple[int, int, Line]]:
        """(start, end, the line it starts on): table rows and list items alone, prose lines
        joined and cut at sentence ends (and semicolons)."""
        out: list[tuple[int, int, Line]] = []
        paragraph: list[Line] = []

        def flush():
            if not paragraph:
                return
            start = paragraph[0].start
            end = paragraph[-1].end
            cut = start
            for m in _SENTENCE_END.finditer(self.text, start, end):
                out.append((cut, m.end(), self._line_at(cut)))
                cut = m.end()
            if cut < end:
                out.append((cut, end, self._line_at(cut)))
            paragraph.clear()

        for line in self.lines:
            if not line.text.strip():
                flush()
                continue
            if line.row or line.heading_end or line.cells is not None:
                flush()
                paragraph.append(line)
                if line.row or line.cells is not None:
                    flush()
                continue
            if paragraph and (paragraph[-1].row or paragraph[-1].context is not line.context):
                flush()
            paragraph.append(line)
        flush()
        return [(s, e, ln) for s, e, ln in out if self.text[s:e].strip()]

    def _line_at(self, offset: int) -> Line:
        for line in self.lines:
            if line.start <= offset <= line.end:
                return line
        return self.lines[-1]

    # -- the whole note ---------------------------------------------------------
    def read(self) -> dict:
        text = self.text
        session: dict = {}
        found: list[Found] = []
        guidance: dict[str, tuple[int, int]] = {}
        negated_guidance: set[str] = set()
        product = approach = setting = indication = None
        administered = discarded = None
        vials: list[float] = []
        per_site_dose: float | None = None
        weight: float | None = None
        dose_spans_used: set[tuple[int, int]] = set()
        field_doses: list[tuple[str, float, tuple[int, int]]] = []
        loose_doses: list[tuple[float, tuple[int, int], Line]] = []

        self._sentence_list = self._sentences()
        for s_start, s_end, line in self._sentence_list:
            sentence = text[s_start:s_end]
            tokens = _tokens(sentence)
            for t in tokens:
                t.start += s_start
                t.end += s_start
            mentions = _mentions(text, tokens, self.lexicon)
            contexts = self._contexts(mentions, s_start, s_end, line)
            doses = [(_num(m.group(1)), (s_start + m.start(), s_start + m.end()), bool(m.group(2)))
                     for m in _DOSE.finditer(sentence)
                     if not re.search(r"(?:mL|ml|cc)\s*(?:per|/|for)\s*$", sentence[:m.start()])]  # a dilution's
            # field cues label doses: totals, waste, vials
            labelled: dict[tuple[int, int], str] = {}
            for amount, span, per_kg in doses:
                label = None if per_kg else self._dose_label(mentions, span, text)
                if label:
                    labelled[span] = label
                    if contexts(span[0]) is None:
                        field_doses.append((label, amount, span))
            if contexts(s_start) is None:
                m = self.patterns.zero_waste.search(sentence)
                if m:
                    field_doses.append(("units_discarded", 0.0, (s_start + m.start(), s_start + m.end())))
                if self.patterns.per_site_sentence.search(sentence):
                    for amount, span, per_kg in doses:
                        if span not in labelled and not per_kg and _near_per_site(text, span, self.patterns):
                            per_site_dose = amount
                for m in _WEIGHT.finditer(sentence):
                    if not re.search(r"U\s*/\s*$", sentence[:m.start()]):
                        weight = _num(m.group(1))
            # a table's total row
            if line.cells is not None and line.roles and "muscle" in line.roles and line.roles.index("muscle") < len(
                    line.cells):
                cs, ce = line.cells[line.roles.index("muscle")]
                cue = self.lexicon.phrases.get(normalise(text[cs:ce]), [])
                number = self._cell_number(line, "units")
                if number and any(e.kind == "field" and e.value == "units_administered" for e in cue):
                    field_doses.append(("units_administered", number[0], number[1]))
            # the things named
            targets = [m for m in mentions if m.entry.kind in ("target", "ambiguous")]
            for m in mentions:
                ctx = contexts(m.start)
                excluded = ctx is not None and ctx.excludes
                kind = m.entry.kind
                if kind == "guidance":
                    name = m.entry.label
                    if excluded:
                        if ctx.label == "NegatedContext":
                            negated_guidance.add(name)
                    else:
                        guidance.setdefault(name, (m.start, m.end))
                elif kind == "approach" and not excluded and approach is None:
                    approach = (m.entry.label, (m.start, m.end))
                elif kind == "setting" and not excluded and setting is None:
                    setting = (m.entry.label, (m.start, m.end))
                elif kind == "product" and not excluded and product is None:
                    product = (m.entry.label, (m.start, m.end))
                elif kind == "indication" and indication is None and (ctx is None or ctx.label != "NegatedContext"):
                    indication = (m.entry.label, (m.start, m.end))
            # targets of today
            today = []
            for m in targets:
                ctx = contexts(m.start)
                if ctx is not None and ctx.excludes:
                    self.excluded.append({"text": m.written, "span": [m.start, m.end], "context": ctx.label})
                    continue
                today.append(m)
            if contexts(s_start) is None or not today:
                self._announced_limbs([m for m in mentions if m.entry.kind in ("side", "limb")], text)
            if not today and (line.row or line.cells is not None) and contexts(s_start) is None:
                spelled = self._misspelled(mentions, doses, labelled, s_start)
                if spelled is not None:
                    today.append(spelled)
                    mentions = sorted(mentions + [spelled], key=lambda x: x.start)
            if not today:
                for amount, span, _ in doses:
                    if span not in labelled and contexts(span[0]) is None:
                        loose_doses.append((amount, span, line))
                continue
            self._injections(today, mentions, doses, labelled, s_start, s_end, line, found, dose_spans_used)
        # per-site and per-kilogram amounts, and what was left without a target
        for f in found:
            if f.per_kg is not None:
                if weight is not None:
                    f.units = round(f.per_kg * weight, 2)
                else:
                    self._unresolved(f.dose_span or (f.start, f.end), "dose-unattached",
                                     note="a dose per kilogram without the patient's weight")
            if f.units is None and f.sites is not None and per_site_dose is not None:
                f.units = f.sites * per_site_dose
        for _, span, line in loose_doses:
            if span in dose_spans_used:
                continue
            sentence = self._sentence_of(span)
            # only a dose said to go somewhere ("50 units were placed where the tone was worst"),
            # not one of a list whose targets sit elsewhere (a table's cells, the sentence before)
            if line.context is not None and not line.context.excludes and line.context.label in (
                    "ProcedureContext",) and not _is_dilution(text, span) and not line.row and line.cells is None \
                    and _PLACED.search(sentence) and not re.search(r"\d\s*(?:U|units?)\b[^.;]*\d\s*(?:U|units?)\b",
                                                                    sentence):
                self._unresolved(span, "dose-unattached", text=self._sentence_span(span))
        injections = self._session_injections(found)
        # the drug
        for label, amount, span in field_doses:
            if label == "units_administered":  # the last total written: notes end with the totals
                administered = (amount, span)
            elif label == "units_discarded" and discarded is None:
                discarded = (amount, span)
            elif label == "vial_units":
                vials.extend([amount] * _vial_count(text, span, self.patterns))
                self.spans.setdefault("agent.vial_units", []).append(span)
        if administered is None and injections and all("units" in i for i in injections):
            administered = (sum(i["units"] for i in injections), None)
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
        if setting:
            session["setting"] = setting[0]
            self.spans["setting"] = [setting[1]]
        if approach:
            session["approach"] = approach[0]
            self.spans["approach"] = [approach[1]]
        kinds = [g for g in guidance if g not in negated_guidance or guidance[g]]
        session["guidance"] = kinds
        for n, g in enumerate(kinds):
            self.spans[f"guidance[{n}]"] = [guidance[g]]
        if indication:
            session["indication"] = indication[0]
            self.spans["indication"] = [indication[1]]
        else:
            written = self._indication_text()
            if written:
                session["indication"], span = written
                self.spans["indication"] = [span]
        if product and administered is not None:
            agent: dict = {"product": product[0]}
            self.spans["agent.product"] = [product[1]]
            ndc = self._first(_NDC)
            if ndc:
                agent["ndc"] = ndc[0]
                self.spans["agent.ndc"] = [ndc[1]]
            agent["units_administered"] = _number(administered[0])
            if administered[1]:
                self.spans["agent.units_administered"] = [administered[1]]
            if discarded is not None:
                agent["units_discarded"] = _number(discarded[0])
                self.spans["agent.units_discarded"] = [discarded[1]]
            lot = self._first(self.patterns.lot)
            if lot:
                agent["lot"] = lot[0]
                self.spans["agent.lot"] = [lot[1]]
            if vials:
                agent["vial_units"] = _number(vials[0]) if len(vials) == 1 else [_number(v) for v in vials]
            session["agent"] = agent
        session["injections"] = injections
        return session

    # -- contexts ---------------------------------------------------------------
    def _contexts(self, mentions: list[Mention], s_start: int, s_end: int, line: Line):
        """The context at a place of the sentence: its section's, unless a trigger of the sentence
        reaches it (ConText: forward triggers reach the words after them, backward ones the words
        before them, up to a terminator or the sentence's edge). None: today's procedure."""
        section = line.context if line.context is not None and line.context.excludes else None
        pseudo = [(m.start, m.end) for m in mentions if m.entry.kind == "pseudo"]
        terminators = sorted(m.start for m in mentions if m.entry.kind == "terminator")
        triggers = [m for m in mentions if m.entry.kind == "trigger"
                    and not any(a <= m.start and m.end <= b for a, b in pseudo)]
        cache: dict[int, Entry | None] = {}

        def at(point: int) -> Entry | None:
            if point not in cache:
                best = section
                for t in triggers:
                    if t.entry.direction in ("forward", "both") and t.end <= point \
                            and not any(t.end <= x <= point for x in terminators):
                        best = t.entry
                    if t.entry.direction in ("backward", "both") and t.start > point \
                            and not any(point < x <= t.start for x in terminators):
                        best = t.entry
                cache[point] = best
            return cache[point]

        return at

    def _dose_label(self, mentions: list[Mention], span: tuple[int, int], text: str) -> str | None:
        """The field cue labelling a dose: before it within a few words, or right after it."""
        after = text[span[1]:span[1] + 40]
        before = text[max(0, span[0] - 40):span[0]]
        p = self.patterns
        if p.vial_after.match(after) or p.vial_before.search(before) or p.vial_added.match(after):
            return "vial_units"
        if re.search(r"\b(?:additional|extra|another|further)\s*$", before, re.I) or p.each_after.match(after):
            return None  # "an additional 50 units", "5 units each": doses of their own, not totals
        if re.search(r"(?:^|[^<>!])=\s*$", before):
            return "units_administered"  # "= 155 U": a sum
        best = None  # the nearest cue: "45 units given, 5 units wasted" labels each by its own word
        for m in mentions:
            if m.entry.kind != "field" or m.entry.value not in ("units_administered", "units_discarded"):
                continue
            gap_before = text[m.end:span[0]] if m.end <= span[0] else None
            gap_after = text[span[1]:m.start] if m.start >= span[1] else None
            if gap_before is not None:  # "Total 8 U/kg = 144 U": the per-kilogram dose restated
                gap_before = re.sub(r"\d+(?:\.\d+)?\s*U\s*/\s*kg\s*=?", "", gap_before)
            if gap_before is not None and len(gap_before) <= 24 and not re.search(r"[.;]|\d\s*(?:U|units)", gap_before):
                distance = len(gap_before) + (10 if re.search(r",|\band\b", gap_before) else 0)
            elif gap_after is not None and len(gap_after) <= 12 and not re.search(r"[.;,]", gap_after):
                distance = len(gap_after)
            else:
                continue
            if best is None or distance < best[0]:
                best = (distance, str(m.entry.value))
        return best[1] if best else None

    # -- injections ---------------------------------------------------------------
    def _injections(self, today, mentions, doses, labelled, s_start, s_end, line, found, used) -> None:
        self._before = {}
        for b in (x for x in mentions if x.entry.kind == "side-before"):
            after = next((t for t in today if t.start >= b.end), None)
            if after is not None and re.fullmatch(r"\s*(?:the\s+)?|\s+[a-z]+(?:\s+[a-z]+){0,3}\s+of\s+the\s+",
                                                  self.text[b.end:after.start]):  # "each anterior belly of the digastric"
                self._before[after.start] = b
        sides = [m for m in mentions if m.entry.kind == "side"]
        free = [(a, sp, kg) for a, sp, kg in doses if sp not in labelled]
        # "40 U into the left SCM, 60 U into the right splenius": each dose before its target
        doses_first = bool(free) and free[0][1][1] <= today[0].start and line.cells is None and bool(
            re.fullmatch(r"[^.;,:()]{0,30}\b(?:into|to|in|for|at)\b[^.;,:()]{0,25}", self.text[free[0][1][1]:today[0].start]))
        for n, m in enumerate(today):
            if m.entry.kind == "ambiguous":
                chosen = self._by_neighbours(m, today)
                if chosen is not None:  # one candidate shares the region of every target listed with it
                    m = Mention(Entry("target", chosen, chosen.label), m.start, m.end, m.first, m.last, m.written)
                    today[n] = m
                    self.chosen.append({"text": m.written, "span": [m.start, m.end], "target": chosen.label,
                                        "because": "the only candidate in the region of the targets listed with it"})
            if m.entry.kind == "ambiguous":
                lo, hi = self._clause_text(m, today, n, s_end)
                if not (_DOSE.search(self.text, lo, hi) or self.patterns.sites.search(self.text, lo, hi) or line.cells is not None
                        or any(lo <= s.start < hi or s.end == m.start - 1 for s in sides)):
                    self.excluded.append({"text": m.written, "span": [m.start, m.end], "context": "mentioned"})
                    continue
                self._unresolved((m.start, m.end), "ambiguous-target", m.entry.candidates,
                                 text=self._clause_text(m, today, n, s_end))
                continue
            target: Target = m.entry.value
            after = today[n + 1] if n + 1 < len(today) else None
            if after is not None and after.entry.kind == "target" and re.fullmatch(
                    r"\s*(?:muscles?\s*)?\(\s*", self.text[m.end:after.start]):
                continue  # "the levator muscle (puborectalis)": the name in brackets says which
            f = Found(target, m.written, m.start, m.end)
            if doses_first:
                lo = today[n - 1].end if n else s_start
                f.clause = (lo, m.end)
            else:
                hi = today[n + 1].start if n + 1 < len(today) else s_end
                f.clause = (m.start, hi)
            # the side
            cell_side = self._cell_value(line, m, "side")
            side = self._adjacent_side(m, sides, today)
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
            if side is None and len(self.limb_sides.get(target.region, ())) == 1 and not line.row:
                side = (next(iter(self.limb_sides[target.region])), None)  # "PROCEDURE: ... the left lower extremity"
            if side is None and line.row and target.region in self.limbs:
                key = (line.start, target.region)
                if key not in self.row_sides and self.limbs[target.region]:
                    self.row_sides[key] = self.limbs[target.region].pop(0)
                if key in self.row_sides:
                    side = (self.row_sides[key], None)
            if side is not None:
                f.side, f.side_span = side
            # left and right columns of a table
            if line.cells is not None and line.roles and ("left" in line.roles or "right" in line.roles):
                for col in ("left", "right"):
                    value = self._cell_number(line, col)
                    if value is not None:
                        g = Found(target, m.written, m.start, m.end, side=col, units=value[0], dose_span=value[1],
                                  clause=f.clause)
                        found.append(g)
                        used.add(value[1])
                continue
            pairs = self._side_doses(m, sides, free, f.clause, used)
            if len(pairs) >= 2:  # "Adductor magnus: 75u R (2 sites), 75u L (2 sites)": one dose per side
                for side_label, side_span, amount, span, sites in pairs:
                    found.append(Found(target, m.written, m.start, m.end, side=side_label, side_span=side_span,
                                       units=amount, units_each=True, sites=sites, dose_span=span, clause=f.clause))
                continue
            self._dose(f, free, line, used)
            if f.side is None and not target.midline and self._plural(m):
                f.side = "bilateral"  # a paired target named in the plural, without a side: both
            if f.units == 0:  # "pronator teres | 0 U": named with no dose, not injected
                self.excluded.append({"text": m.written, "span": [m.start, m.end], "context": "zero dose"})
                continue
            evidence = (f.units is not None or f.sites is not None or f.per_kg is not None or f.side is not None
                        or line.cells is not None or line.row or _INJECTED.search(self.text, s_start, s_end))
            if not evidence:  # named in passing, not as an injection
                self.excluded.append({"text": m.written, "span": [m.start, m.end], "context": "mentioned"})
                continue
            if f.side is None and after is not None and after.entry.kind == "target" and re.fullmatch(
                    r"\s*(?:,|and|&|or)\s*(?:the\s+)?", self.text[m.end:after.start]):
                shared = self._adjacent_side(after, sides, today) or self._later_side(after, sides, today, s_end)
                if shared is not None:  # "the adductor longus and adductor magnus on both sides"
                    f.side, f.side_span = shared
            if f.side is None and target.laterality_matters and not target.midline:
                self._unresolved((m.start, m.end), "side-missing", text=self._clause_text(m, today, n, s_end))
                continue
            found.append(f)

    def _announced_limbs(self, mentions: list[Mention], text: str) -> None:
        """Limbs a sentence announces with their sides ("spasms in both legs and the left upper arm"),
        for the lists that follow without sides: each list takes the next side of its limb."""
        pending: list[str] = []
        for m in mentions:
            if m.entry.kind == "side":
                if m.entry.label == "bilateral":  # in the order written: "left and right upper arms"
                    pending.extend(["left", "right"] if m.written.lower().startswith("l") else ["right", "left"])
                else:
                    pending.append(m.entry.label)
            elif m.entry.kind == "limb":
                if pending:
                    self.limbs.setdefault(m.entry.value, []).extend(pending)
                    self.limb_sides.setdefault(m.entry.value, set()).update(pending)
                pending = []

    def _by_neighbours(self, m: Mention, today: list[Mention]) -> Target | None:
        """An ambiguous name's one candidate in the billing region of all the other targets of its
        sentence ("right paraspinal, right levator scapulae, right splenius capitis"), if there is one."""
        regions = {t.entry.value.region for t in today if t.entry.kind == "target"}
        if len(regions) != 1:
            return None
        names = self.lexicon.names
        fits = [names.resolve_target(c).target for c in m.entry.candidates]
        fits = [t for t in fits if t is not None and t.region in regions]
        return fits[0] if len(fits) == 1 else None

    def _sentence_span(self, span: tuple[int, int]) -> tuple[int, int]:
        for start, end, _ in self._sentence_list:
            if start <= span[0] < end:
                return start, end
        return span

    def _sentence_of(self, span: tuple[int, int]) -> str:
        start, end = self._sentence_span(span)
        return self.text[start:end]

    def _misspelled(self, mentions, doses, labelled, s_start) -> Mention | None:
        """A list item or table row with a dose whose name the ontology does not know: a name one
        spelling slip from exactly one target's is read as that target and the reading recorded
        (provenance: settled_by_context); any other name is an unknown target, unresolved."""
        free = [span for _, span, _ in doses if span not in labelled
                and not re.search(r"(?:\bper|/)\s*$", self.text[max(0, span[0] - 6):span[0]])]  # a ratio's
        if not free:
            return None
        head = self.text[s_start:free[0][0]]
        words = [(w.group(), s_start + w.start(), s_start + w.end()) for w in re.finditer(r"[A-Za-z][A-Za-z'-]+", head)]
        taken = [(m.start, m.end) for m in mentions]
        words = [w for w in words if not any(a <= w[1] < b for a, b in taken) and w[0].lower() not in _STOP]
        if any(normalise(w[0]) in self.lexicon.headings or self.lexicon.phrases.get(normalise(w[0])) for w in words):
            return None  # a heading or a known word ("Dilution", "Total"), not a misspelt name
        if not words or len(words) > 4 or sum(len(w[0]) for w in words) < 5:
            return None
        start, end = words[0][1], words[-1][2]
        written = self.text[start:end]
        key = normalise(written)
        names = self.lexicon.names
        close = difflib.get_close_matches(key, list(names.targets), n=3, cutoff=0.85)
        labels = {names.targets[c].label for c in close}
        if len(labels) == 1 and len(key) >= 6:
            target = names.targets[close[0]]
            self.chosen.append({"text": written, "span": [start, end], "target": target.label,
                                "because": f"a close spelling of {close[0]!r}"})
            return Mention(Entry("target", target, target.label), start, end, 0, 0, written)
        suggestions = [c for c in difflib.get_close_matches(key, list(names.targets), n=3, cutoff=0.75)]
        if suggestions:  # a name near a target's: unknown, say so (words far from any name are not one)
            self._unresolved((start, end), "unknown-target", tuple(names.suggest(written)), text=(start, free[0][1]))
        return None

    def _side_doses(self, m: Mention, sides: list[Mention], free, clause, used) -> list:
        """The (side, dose) pairs written side by side after a target: "75u R, 75u L", "R 5 U and L 5 U"."""
        pairs, taken = [], set()
        for s in sides:
            if not (m.end <= s.start and s.end <= clause[1]) or s.entry.label == "bilateral":
                continue
            for amount, span, per_kg in free:
                if span in used or span in taken or per_kg or not (clause[0] <= span[0] < clause[1]):
                    continue
                gap = self.text[span[1]:s.start] if span[1] <= s.start else self.text[s.end:span[0]]
                if len(gap) <= 3 and not gap.strip(" :"):
                    sites = self.patterns.sites.match(self.text, s.end + len(self.text[s.end:].split("(")[0]) + 1) if \
                        self.text[s.end:s.end + 3].lstrip().startswith("(") else None
                    pairs.append((s.entry.label, (s.start, s.end), amount, span, _count(sites.group(1)) if sites else None))
                    taken.add(span)
                    break
        if len({p[0] for p in pairs}) < 2:
            return []
        used.update(taken)
        return pairs

    def _later_side(self, m: Mention, sides: list[Mention], today: list[Mention], s_end: int):
        """A side word after a target, before the next target: "adductor magnus on both sides"."""
        nxt = min((t.start for t in today if t.start > m.end), default=s_end)
        later = [s for s in sides if m.end <= s.start and s.end <= nxt]
        return (later[0].entry.label, (later[0].start, later[0].end)) if later else None

    def _plural(self, m: Mention) -> bool:
        words = normalise(m.written).split()
        while len(words) > 1 and words[-1] in ("muscle", "muscles", "m"):
            words = words[:-1]
        key = " ".join(words)
        if key in self.lexicon.names.targets or not key.endswith("s"):
            return key in ("axillae", "palms", "soles") or normalise(m.written).endswith("muscles")
        return True

    def _clause_text(self, m, today, n, s_end) -> tuple[int, int]:
        hi = today[n + 1].start if n + 1 < len(today) else s_end
        return (m.start, hi)

    def _adjacent_side(self, m: Mention, sides: list[Mention], today: list[Mention]):
        text = self.text
        before = self._before.get(m.start)
        if before is not None:  # "each axilla", "both palms"
            return before.entry.label, (before.start, before.end)
        for k, s in enumerate(sides):
            if s.end <= m.start:
                gap = text[s.end:m.start]
                words = [w.lower() for w in _TOKEN.findall(gap)]
                if len(gap) <= 16 and all(w in _STOP for w in words) and not re.search(r"[,;|]", gap):
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
                words = [w.lower() for w in _TOKEN.findall(gap)]
                if len(gap) <= 20 and all(w in _STOP or w in ("side",) for w in words) and not re.search(r"\d|\|", gap):
                    follow = text[s.end:nxt]
                    if nxt < len(text) and all(w.lower() in _STOP for w in _TOKEN.findall(follow)) \
                            and not re.search(r"[,;:(]", follow):
                        continue  # the side word stands before the next target: it is that one's
                    return s.entry.label, (s.start, s.end)
        return None

    def _cell_value(self, line: Line, m: Mention, role: str):
        if line.cells is None or not line.roles or role not in line.roles:
            return None
        s, e = line.cells[line.roles.index(role)] if line.roles.index(role) < len(line.cells) else (None, None)
        if s is None:
            return None
        key = normalise(self.text[s:e])
        iri = self.lexicon.names.enum("side", key)
        if iri is None:
            return None
        return self.lexicon.names.name_of(iri), (s, e)

    def _cell_number(self, line: Line, role: str):
        if line.cells is None or not line.roles or role not in line.roles:
            return None
        index = line.roles.index(role)
        if index >= len(line.cells):
            return None
        s, e = line.cells[index]
        times = self.patterns.times_sites.search(self.text, s, e)
        if times and role in ("units", "left", "right"):  # "2 x 4 U": sites times units
            return _num(times.group(1)) * _num(times.group(2)), (times.start(), times.end())
        m = re.search(_NUMBER, self.text[s:e])
        return (_num(m.group(1)), (s + m.start(), s + m.end())) if m else None

    def _dose(self, f: Found, free, line: Line, used: set) -> None:
        text = self.text
        lo, hi = f.clause
        if line.cells is not None and line.roles:
            units = self._cell_number(line, "units")
            sites = self._cell_number(line, "sites")
            if units is not None:
                f.units, f.dose_span = units
                used.add(units[1])
            if sites is not None:
                f.sites = int(sites[0])
            if units is not None or sites is not None:
                self._each(f, text[lo:hi])
                return
        clause = text[lo:hi]
        m = self.patterns.times_sites.search(clause)
        if m:  # "4 x 5 U": sites times the amount per site
            f.sites, each = int(_num(m.group(1))), _num(m.group(2))
            f.units, f.dose_span = f.sites * each, (lo + m.start(), lo + m.end())
        for amount, span, per_kg in free:
            if f.units is not None or f.per_kg is not None:
                break
            if lo <= span[0] and span[1] <= hi and span not in used:
                after = text[span[1]:hi]
                times = _TIMES.match(after)
                if per_kg:
                    f.per_kg = amount
                elif times and not self.patterns.times_vials.match(after):
                    f.sites = int(_num(times.group(1)))
                    f.units = amount * f.sites
                elif self.patterns.per_site_after.match(after):
                    f.units = amount  # an amount per site: times the sites, when the clause counts them
                    sites = self.patterns.sites.search(text, lo, hi)
                    if sites:
                        f.sites = _count(sites.group(1))
                        f.units = amount * f.sites
                else:
                    f.units = amount
                f.dose_span = span
                used.add(span)
        if f.sites is None:
            m = self.patterns.sites.search(clause) or self.patterns.bare_times.search(clause)
            if m:
                f.sites = _count(m.group(1))
        self._each(f, clause)

    def _each(self, f: Found, clause: str) -> None:
        if self.patterns.each.search(clause):
            f.units_each = True

    def _session_injections(self, found: list[Found]) -> list[dict]:
        """One injection per target and side: a bilateral one is two (an amount written once for
        both is split, one written "each" is each side's); a target named again (its two heads,
        extra sites, or in passing) adds its units and sites to the first."""
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
        out: list[dict] = []
        for f in merged.values():
            item: dict = {"id": f"i{len(out) + 1}", "muscle": f.target.label}
            if f.side is not None and not f.target.midline:  # a midline target has no side
                item["side"] = f.side
            if f.units is not None and f.units > 0:
                item["units"] = _number(f.units)
            if f.sites is not None:
                item["sites"] = f.sites
            index = len(out)
            clause = f.clause
            if f.side_span and f.side_span[0] < clause[0] and "\n" not in self.text[f.side_span[0]:clause[0]]:
                clause = (f.side_span[0], clause[1])  # "Right biceps 100 U": the side word with it
            self.spans[f"injections[{index}]"] = [clause]
            self.spans[f"injections[{index}].muscle"] = [(f.start, f.end)]
            if f.side_span:
                self.spans[f"injections[{index}].side"] = [f.side_span]
            if f.dose_span:
                self.spans[f"injections[{index}].units"] = [f.dose_span]
            out.append(item)
        return out

    # -- single fields ----------------------------------------------------------
    def _first(self, pattern: re.Pattern) -> tuple[str, tuple[int, int]] | None:
        for m in pattern.finditer(self.text):
            line = self._line_at(m.start())
            if line.context is not None and line.context.label == "HistoricalContext":
                continue
            return m.group(1), (m.start(1), m.end(1))
        return None

    def _patient(self) -> str | None:
        m = self.patterns.patient.search(self.text)
        if m:
            self.spans["patient"] = [(m.start(1), m.end(1))]
            return m.group(1)
        return None

    def _date(self) -> str | None:
        for m in self.patterns.date.finditer(self.text):
            d = _DATES.match(self.text, m.end())
            if d:
                value = _parse_date(d)
                if value:
                    self.spans["date"] = [(d.start(), d.end())]
                    return value
        return None

    def _diagnoses(self) -> list[str]:
        codes: list[str] = []
        for m in _ICD.finditer(self.text):
            written = m.group(1)
            line = self._line_at(m.start())
            cue = self.patterns.diagnosis.search(line.text) or (
                line.context is not None and line.context.label == "IndicationContext")
            if "." not in written and not cue:
                continue
            code, status, hint = icd10cm.lookup(written)
            if status == icd10cm.BILLABLE:
                if code not in codes and len(codes) < 12:
                    codes.append(code)
                    self.spans.setdefault("diagnoses", []).append((m.start(1), m.end(1)))
            elif status == icd10cm.NOT_BILLABLE and cue:
                self._unresolved((m.start(1), m.end(1)), "diagnosis-not-billable", hint)
        return codes

    def _indication_text(self) -> tuple[str, tuple[int, int]] | None:
        for line in self.lines:
            if line.heading_end and self.patterns.indication.match(line.text):
                rest = line.text[line.heading_end:]
                first = re.split(r"(?<=[a-z)])[.;]\s", rest.strip(), maxsplit=1)[0].strip().rstrip(".")
                if first:
                    start = line.start + line.heading_end + rest.find(first[:10])
                    return first[:200], (start, start + len(first[:200]))
        return None

    def _unresolved(self, span: tuple[int, int], reason: str, candidates=(), text: tuple[int, int] | None = None,
                    note: str | None = None) -> None:
        s, e = text or span
        quote = " ".join(self.text[s:e].split()).rstrip(" ,;.")[:120]
        line, column = position(self.text, s)
        self.unresolved.append(Unresolved(quote, s, e, reason + (f": {note}" if note else ""), tuple(candidates),
                                          line, column))


def _align(text: str, cells: list[tuple[int, int]], table) -> tuple[list[tuple[int, int]], list[str]]:
    """A row's cells placed under the header's columns (by position for space-aligned tables)."""
    header, roles, kind = table
    if kind != "spaces":
        return cells, roles
    header_line_start = text.rfind("\n", 0, header[0][0]) + 1
    row_line_start = text.rfind("\n", 0, cells[0][0]) + 1 if cells else 0
    columns = [(s - header_line_start, e - header_line_start) for s, e in header]
    placed: list[tuple[int, int] | None] = [None] * len(columns)
    for s, e in cells:
        rs, re_ = s - row_line_start, e - row_line_start
        best, score = None, None
        for i, (cs, ce) in enumerate(columns):
            overlap = min(re_, ce) - max(rs, cs)
            distance = -overlap if overlap > 0 else abs(rs - cs) + 1000
            if score is None or distance < score:
                best, score = i, distance
        if best is not None and placed[best] is None:
            placed[best] = (s, e)
        elif best is not None:  # a wide cell running into the next column: keep the first
            continue
    filled = [(p if p is not None else (0, 0)) for p in placed]
    return filled, roles


def _near_per_site(text: str, span: tuple[int, int], patterns: Patterns) -> bool:
    around = text[max(0, span[0] - 20):span[1] + 30]
    return bool(patterns.per_site_near.search(around)
                or patterns.each_list.match(text[span[1]:span[1] + 10]))  # "with 5 units each: procerus (1), ..."


def _is_dilution(text: str, span: tuple[int, int]) -> bool:
    after = text[span[1]:span[1] + 12]
    return bool(re.match(r"\s*(?:/|per|in)\s*(?:\d+(?:\.\d+)?\s*)?(?:mL|ml|cc)", after))


def _vial_count(text: str, span: tuple[int, int], patterns: Patterns) -> int:
    after = text[span[1]:span[1] + 30]
    before = text[max(0, span[0] - 20):span[0]]
    m = patterns.vials_times.match(after) or patterns.vials_of.search(before)
    return int(m.group(1)) if m and 0 < int(m.group(1)) <= 20 else 1


def _count(written: str) -> int:
    return _WORDS.get(written.lower()) or int(float(written))


def _num(written: str) -> float:
    return float(written.replace(",", ""))


def _number(value: float):
    return int(value) if float(value).is_integer() else round(float(value), 2)


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
            month = _MONTHS.get(g[6][:3].lower())
            if month is None:
                return None
            day = datetime.date(int(g[8]), month, int(g[7]))
        else:
            month = _MONTHS.get(g[10][:3].lower())
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
    return Extraction(source, text, session, reader.spans, reader.unresolved, reader.excluded, reader.chosen)


# ---------------------------------------------------------------------------
# What a note gave, for people and for RDF
# ---------------------------------------------------------------------------

def problem(u: Unresolved) -> str:
    reason, _, detail = u.reason.partition(": ")
    why = {"ambiguous-target": "a name that could mean targets billed differently",
           "side-missing": "no side found for a target whose side changes the code",
           "dose-unattached": "a dose that belongs to no named target",
           "unknown-target": "a target the ontology does not know",
           "diagnosis-not-billable": "an ICD-10-CM category that is not billable"}.get(reason, reason)
    text = f"{why}: {u.text!r}" + (f" ({detail})" if detail else "")
    if u.candidates:
        text += f"; name one of {', '.join(u.candidates)}"
    return text


def annotations(session, extraction: Extraction):
    """W3C Web Annotation triples linking each fact read (an injection, the guidance, the agent's
    fields) to the note's characters it was read from: a TextPositionSelector (offsets) and a
    TextQuoteSelector (the words, with a little of what surrounds them)."""
    note = URIRef(f"{session.iri}/note")
    yield note, RDF.type, CD.ProcedureNote
    yield session.iri, CD.readFrom, note
    yield note, CD.characters, Literal(len(extraction.text), datatype=XSD.integer)
    subjects = {f"injections[{n}]": inj.iri for n, inj in enumerate(session.injections)}
    for n, (path, spans) in enumerate(sorted(extraction.spans.items())):
        about = subjects.get(path, session.iri)
        for m, (start, end) in enumerate(spans):
            if end <= start:
                continue
            ann = URIRef(f"{session.iri}/note/annotation/{n + 1}-{m + 1}")
            target = URIRef(f"{ann}/target")
            position, quote = URIRef(f"{ann}/position"), URIRef(f"{ann}/quote")
            yield ann, RDF.type, OA.Annotation
            yield ann, OA.motivatedBy, OA.identifying
            yield ann, OA.hasBody, about
            yield ann, CD.noteField, Literal(path)
            yield ann, OA.hasTarget, target
            yield target, RDF.type, OA.SpecificResource
            yield target, OA.hasSource, note
            yield target, OA.hasSelector, position
            yield target, OA.hasSelector, quote
            yield position, RDF.type, OA.TextPositionSelector
            yield position, OA.start, Literal(start, datatype=XSD.nonNegativeInteger)
            yield position, OA.end, Literal(end, datatype=XSD.nonNegativeInteger)
            yield quote, RDF.type, OA.TextQuoteSelector
            yield quote, OA.exact, Literal(extraction.text[start:end])
            yield quote, OA.prefix, Literal(extraction.text[max(0, start - 24):start])
            yield quote, OA.suffix, Literal(extraction.text[end:end + 24])


def table(extraction: Extraction) -> str:
    """The note as read, for people: each injection with the words it was read from."""
    s = extraction.session
    out = [f"Note {extraction.source}  (session {s.get('id')})"]
    about = [f"{k} {s[k]}" for k in ("patient", "date", "setting", "approach", "indication") if s.get(k)]
    if s.get("diagnoses"):
        about.append("diagnoses " + ", ".join(s["diagnoses"]))
    about.append("guidance " + (", ".join(s["guidance"]) if s.get("guidance") else "none"))
    out.append("  " + "; ".join(about))
    agent = s.get("agent")
    if agent:
        out.append("  Agent: " + ", ".join(f"{k} {v}" for k, v in agent.items()))
    rows = [("ID", "TARGET", "SIDE", "UNITS", "SITES", "READ FROM")]
    for n, inj in enumerate(s.get("injections", [])):
        span = extraction.spans.get(f"injections[{n}]", [None])[0]
        where = ""
        if span:
            line, column = extraction.position(span[0])
            where = f"{line}:{column} {extraction.quote(*span)!r}"
        rows.append((inj["id"], inj["muscle"], inj.get("side", "-"), str(inj.get("units", "-")),
                     str(inj.get("sites", "-")), where))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    out.append("  Injections:")
    for r in rows:
        out.append("    " + "  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
    if extraction.excluded:
        out.append("  Named, not injected today: " + "; ".join(
            f"{e['text']} ({e['context'].replace('Context', '').lower()}, {':'.join(map(str, extraction.position(e['span'][0])))})"
            for e in extraction.excluded))
    for c in extraction.chosen:
        out.append(f"  Settled by context: {c['text']!r} read as {c['target']} ({c['because']})")
    out.append("  Unresolved:" + ("" if extraction.unresolved else " none"))
    for u in extraction.unresolved:
        out.append(f"    {u.line}:{u.column} {problem(u)}")
    return "\n".join(out)
