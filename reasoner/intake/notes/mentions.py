"""The words of a sentence: its tokens, the phrases the ontology knows in it (targets, ambiguous
names, sides, guidance, field cues, triggers; the longest at each place), and the context each
place of the sentence is in, after the ConText algorithm (Harkema et al. 2009)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...knowledge.names import Target, normalise
from ...knowledge.reading import Entry, Lexicon
from .structure import Line

TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.'’][A-Za-z0-9]+)*")
_JOINING_GAP = re.compile(r"[\s\-/']*")  # what may stand between the words of one phrase


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


def tokens(text: str, start: int, end: int) -> list[Token]:
    """The tokens of text[start:end], with their offsets in text."""
    found = [Token(m.group(), m.start(), m.end(), normalise(m.group())) for m in TOKEN.finditer(text[start:end])]
    for t in found:
        t.start += start
        t.end += start
    return found


def find(text: str, tokens: list[Token], lexicon: Lexicon) -> list[Mention]:
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


def contexts(mentions: list[Mention], line: Line):
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
