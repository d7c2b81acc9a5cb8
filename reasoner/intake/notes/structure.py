"""A note's structure: its lines (with the section each is in, a side its heading names, the
cells and column roles of a table), the sections their headings open, and the sentences the
reader takes one at a time (table rows and list items alone, prose cut at sentence ends)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...knowledge.names import normalise
from ...knowledge.reading import Entry, Lexicon
from .patterns import DOSE

HEADING = re.compile(r"^[ \t]*(?:[-*•·]\s*|o\s+(?=[A-Za-z]))?([A-Za-z][A-Za-z0-9 /&()'’.#,-]{0,60}?)\s*(?::|\s-{1,2}\s|\s—\s)")
BULLET = re.compile(r"^\s*(?:[-*•·+o]|\d{1,2}[.)])\s+")
SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bapprox)(?<!\bDr)(?<!\bno)(?<!\d)(?<!\.\.)[.!?]"
                          r"(?=\s+[A-Z(\[\-*•\d]|\s*$|[ \t]*\n)"
                          r"|;|(?<=\d)\.(?=\s+[A-Z])")
TABLE_ROLES = {"muscle": ("muscle", "muscles", "target", "targets", "structure", "site", "location", "muscle injected",
                          "muscle group", "region", "gland"),
               "side": ("side", "laterality", "l r", "r l", "side l r"),
               "units": ("units", "unit", "dose", "u", "units u", "dose u", "total", "total u", "units per side",
                         "amount"),
               "sites": ("sites", "site", "sites n", "n sites", "no of sites", "number of sites", "points", "injections",
                         "injection sites"),
               "left": ("left", "l", "lt", "left u", "l u", "left units", "left side", "left dose"),
               "right": ("right", "r", "rt", "right u", "r u", "right units", "right side", "right dose"),
               "volume": ("vol", "volume", "vol ml", "volume ml", "ml", "cc", "vol cc", "volume cc"),
               # sites of each side: "Sites R/L" ("2/2"), or a column for each side ("Sites R", "Sites L")
               "sites right left": ("sites r l", "sites rt lt", "sites right left", "r l sites", "sites n r l"),
               "sites left right": ("sites l r", "sites lt rt", "sites left right", "l r sites", "sites n l r"),
               "sites right": ("sites r", "r sites", "sites rt", "rt sites", "right sites", "sites right", "sites od"),
               "sites left": ("sites l", "l sites", "sites lt", "lt sites", "left sites", "sites left", "sites os"),
               "per site": ("u site", "units site", "dose site", "u per site", "units per site", "dose per site",
                            "dose per site u", "u pt", "units point", "u point", "per site")}
SIDE_FIELD = re.compile(r"(?:^\s*|[-|,;*•]\s*|\s{2,})side\s*[:=]\s*([A-Za-z/]+)?", re.I)


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


class Layout:
    """A note cut into lines and sentences: (start, end, the line it starts on) for each sentence."""

    def __init__(self, text: str, lexicon: Lexicon):
        self.text = text
        self.lexicon = lexicon
        self.lines = self._lines()
        self.sentences = self._sentences()

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
            cells = split_cells(raw, start)
            roles = column_roles(text, cells[0], self.lexicon) if cells else None
            if roles is not None:
                table = (cells[0], roles, cells[1])
                lines.append(Line(start, end, raw, context, heading_side, end - start, True))
                continue
            following = raws[number + 1] if number + 1 < len(raws) else ""
            entry, heading_end, side = (None, 0, None) if table else heading(
                raw, self.lexicon, titles_list=bool(BULLET.match(following)),
                titles_table=self._header(following))
            if entry is not None and BULLET.match(raw) and DOSE.search(raw, heading_end) \
                    and self._names_target(raw[:heading_end]):
                entry, heading_end, side = None, 0, None  # "- gastrocnemius (both heads): 2 U/kg": an item
            if entry is not None:
                context = entry
                heading_side = side
                block = not raw[heading_end:].strip()
                content_seen = False
            else:
                content_seen = True
            stated = SIDE_FIELD.search(raw)
            if stated and not DOSE.search(raw):  # a template's "Side: R" (or left blank) for what follows
                value = normalise(stated.group(1) or "")
                heading_side = next((e.label for e in self.lexicon.phrases.get(value, ()) if e.kind == "side"), None)
                block, content_seen = True, False
            row = bool(table or cells or BULLET.match(raw) or raw.startswith(("  ", "\t")) or self._short_item(raw, lines))
            if entry is None and heading_side is not None and not row and lines and lines[-1].row and not lines[-1].heading_end \
                    and lines[-1].heading_side == heading_side:
                heading_side = None  # prose after the list a side's heading titled: the list has ended
            line = Line(start, end, raw, context, heading_side, heading_end if entry is not None else 0, row=row)
            if table is not None and cells is not None:
                line.cells, line.roles = align(text, cells[0], table)
            elif table is not None and cells is None:
                table = None
            lines.append(line)
        return lines

    def _names_target(self, text: str) -> bool:
        words = normalise(text).split()
        return any(self.lexicon.target(" ".join(words[i:j])) is not None
                   for i in range(len(words)) for j in range(i + 1, min(len(words), i + 5) + 1))

    def _header(self, raw: str) -> bool:
        """The line is a table's header row."""
        cells = split_cells(raw, 0)
        return bool(cells) and column_roles(raw, cells[0], self.lexicon) is not None

    @staticmethod
    def _short_item(raw: str, lines: list[Line]) -> bool:
        """A short line with a dose after a line that ended a sentence (or another such line): an
        item of an unmarked list ("lt trapezius 30 units"), not a wrapped line of prose."""
        if len(raw.strip()) >= 70 or not lines or (len(raw.strip()) >= 50 and not DOSE.search(raw)):
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
            for m in SENTENCE_END.finditer(self.text, start, end):
                out.append((cut, m.end(), self.line_at(cut)))
                cut = m.end()
            if cut < end:
                out.append((cut, end, self.line_at(cut)))
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

    def line_at(self, offset: int) -> Line:
        for line in self.lines:
            if line.start <= offset <= line.end:
                return line
        return self.lines[-1]

    def sentence_span(self, span: tuple[int, int]) -> tuple[int, int]:
        for start, end, _ in self.sentences:
            if start <= span[0] < end:
                return start, end
        return span

    def sentence_of(self, span: tuple[int, int]) -> str:
        start, end = self.sentence_span(span)
        return self.text[start:end]


def heading(line_text: str, lexicon: Lexicon, titles_list: bool = False,
            titles_table: bool = False) -> tuple[Entry | None, int, str | None]:
    """The section a line opens (its heading entry), where the heading ends, and a side it names.
    titles_list: the next line is a list item, so a short line of words alone ("Right arm") titles it;
    titles_table: the next line is a table's header, so a short line ("Prior visit, for reference") titles it."""
    match = HEADING.match(line_text)
    text, end = None, 0
    if match:
        text, end = match.group(1), match.end()
    else:
        stripped = line_text.strip()
        words = stripped.split()
        if stripped and stripped.upper() == stripped and any(c.isalpha() for c in stripped) and len(words) <= 8:
            text, end = stripped, len(line_text)
        elif titles_list and 0 < len(words) <= 5 and re.fullmatch(r"(?:[-*•·+]\s+)?([A-Za-z][A-Za-z /&()'-]*)", stripped):
            text, end = re.sub(r"^[-*•·+]\s+", "", stripped), len(line_text)  # "* Right arm" over its sub-items
        elif titles_table and 0 < len(words) <= 8 and re.fullmatch(r"[A-Za-z][A-Za-z0-9 /&()',.-]*", stripped):
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


def split_cells(line: str, base: int) -> tuple[list[tuple[int, int]], str] | None:
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


def column_roles(text: str, cells: list[tuple[int, int]], lexicon: Lexicon) -> list[str] | None:
    """The column roles of a table header, or None when the row is not one."""
    roles = []
    for s, e in cells:
        key = normalise(re.sub(r"[#()]", " ", text[s:e]))
        role = next((r for r, names in TABLE_ROLES.items() if key in names), None)
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
    if "muscle" in roles and ({"units", "side", "sites", "left", "right", "volume", "sites right", "sites left",
                               "sites right left", "sites left right"} & set(roles)):
        return roles
    return None


def align(text: str, cells: list[tuple[int, int]], table) -> tuple[list[tuple[int, int]], list[str]]:
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
