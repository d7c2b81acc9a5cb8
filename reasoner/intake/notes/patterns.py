"""The patterns a note is read with: numbers, units and counts (written here: they are not words),
and the words of ontology/reading.ttl's field cues (lexicon.cues) compiled into the patterns that
find site counts, amounts per site and per side, vials, waste, the lot, the patient, the date of
service, the lines of diagnoses and the indication's heading."""

from __future__ import annotations

import functools
import re

from ...knowledge.reading import Lexicon

# from the first digit of a run only: tried inside a run of n digits as well, a pattern that fails
# after it (no unit) costs n squared steps (a run of 20,000 digits took 45 s)
NUMBER = r"(?<!\d)(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
DOSE = re.compile(NUMBER + r"\s*-?\s*(?:U|IU|u|iu|[Uu]nits?|UNITS?)(?![A-Za-z])(\s*/\s*kg)?")
TIMES = re.compile(r"^\s*(?:x|×|X|\*)\s*" + NUMBER + r"(?!\s*(?:mL|ml|cc|mg|kg))")
# each number starts at its first digit: tried at every digit of a long run, the match is quadratic
VOLUME = r"(?<![\d.])(\d+(?:\.\d+)?|\.\d+)\s*(?:mL|ml|ML|cc)\b"
# a dilution: "5 U/0.1 mL", "100 U in 2 mL", "5,000 U per mL"; "2 mL per 100 U", "2cc/100u"
UNITS_PER_VOLUME = re.compile(NUMBER + r"\s*-?\s*(?:U|IU|u|[Uu]nits?|UNITS?)\s*(?:/|per|in|into)\s*"
                              r"(\d+(?:\.\d+)?|\.\d+)?\s*(?:mL|ml|ML|cc)\b")
VOLUME_PER_UNITS = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?|\.\d+)\s*(?:mL|ml|ML|cc)\s*(?:/|per|for)\s*" + NUMBER
                              + r"\s*-?\s*(?:U|IU|u|[Uu]nits?|UNITS?)(?![A-Za-z])")
WEIGHT = re.compile(NUMBER + r"\s*kg\b(?!\s*/)", re.I)
# numbers written as words ("three sites", "a site")
COUNT_WORDS = {w: n for n, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                           "eleven", "twelve"), start=1)} | {"single": 1, "a": 1}
COUNT = r"(\d+|" + "|".join(COUNT_WORDS) + r")"


def words(phrases) -> str:
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
        sites = words(cues.get("sites", ()))
        qualifier = words(cues.get("sites qualifier", ()))
        per_site = words(cues.get("per site", ()))
        each = words(cues.get("each", ()))
        vial = words(cues.get("vial_units", ()))
        discarded = words(cues.get("units_discarded", ()))
        # "4 sites", "three separate injection points", "a site"
        # (not a range's end: "10-15 points", "10 to 15 points" count no sites)
        self.sites = re.compile(r"(?<!\d-)(?<!\d–)(?<!\d to )(?<!\d or )\b" + COUNT + r"\s*(?:" + qualifier
                                + r"\s+)?" + sites + r"\b", re.I)
        side_each = words([p for p in cues.get("each", ()) if "side" in p.split()])
        # "each in two sites", "one site each" (not "each side"): the sites of every target listed
        self.sites_each = re.compile(r"\beach\s+(?:in|at|into|with|through|over|of)\s+" + COUNT + r"\s*(?:" + qualifier
                                     + r"\s+)?" + sites + r"\b|\b" + COUNT + r"\s*(?:" + qualifier + r"\s+)?" + sites
                                     + r"\s+each\b(?!\s+side)", re.I)
        # "2 sites x 4 U", "4 x 5 units", "2 sites ea side x 5U": sites times the amount per site
        self.times_sites = re.compile(NUMBER + r"\s*(?i:" + sites + r")?\s*((?i:" + side_each + r")\s*)?(?:x|×|X)\s*"
                                      + NUMBER + r"\s*(?:U|IU|u|[Uu]nits?)(?![A-Za-z])")
        # "4 sites (2 each side)", "2 sites ea side": a count of sites for each side (not "x1 ea side")
        self.sites_per_side = re.compile(r"(?<![x×]\s)(?<![x×])\b" + COUNT + r"\s*(?:" + sites + r"\s*)?(?:" + side_each
                                         + r")\b", re.I)
        # "x3" after a target: its sites (not "x 2 vials", "x 3 weeks")
        self.bare_times = re.compile(r"(?<![\w.])[x×]\s*(\d{1,2})\b(?!\s*(?:mL|ml|cc|(?i:" + vial
                                     + r")|weeks?|wks?|months?|mo|days?|cm|mm|in|/))")  # not "6 x 9 cm"
        self.times_vials = re.compile(r"\s*(?:x|×|X)\s*\d+\s*(?:(?i:" + vial + r")|mL)")
        # "none wasted", "0 U discarded", "Waste: 0"
        self.shared = re.compile(r"\b" + words(cues.get("shared", ())) + r"\b", re.I)
        self.total = re.compile(r"\b" + words(cues.get("total", ())) + r"\b|=", re.I)
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
        self.vial_after = re.compile(r"\s*(?:/\s*(?:\d+(?:\.\d+)?\s*)?(?:mL|ml|cc)\s*)?(?:\(|\[)?\s*" + vial + r"\b", re.I)
        self.vial_before = re.compile(r"\b" + vial + r"\s*(?:x\s*\d+\s*)?(?:of|x|:)?\s*$", re.I)
        self.vial_added = re.compile(r"\s*\+\s*\d+(?:\.\d+)?\s*(?:U|units?)\s+" + vial + r"\b", re.I)
        self.vials_times = re.compile(r"\s*" + vial + r"\s*(?:x|×)\s*(\d+)", re.I)
        self.vials_of = re.compile(r"(\d+)\s*" + vial + r"\s*(?:x|×|of)\s*$", re.I)
        # single fields: the value after its cue
        self.lot = re.compile(r"\b" + words(cues.get("lot", ())) + r"\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9-]{2,39})", re.I)
        self.patient = re.compile(r"\b" + words(cues.get("patient", ())) + r"\s*[:#]?\s*([A-Za-z0-9][A-Za-z0-9-]{2,40})",
                                  re.I)
        self.date = re.compile(r"\b" + words(cues.get("date", ())) + r"\b\s*[:#-]?\s*(?:\(\s*)?", re.I)
        self.diagnosis = re.compile(r"\b" + words(cues.get("diagnoses", ())) + r"\b", re.I)
        self.indication = re.compile(r"\s*" + words(cues.get("indication", ())) + r"\b", re.I)


@functools.lru_cache(maxsize=8)
def _compiled(cues: tuple[tuple[str, tuple[str, ...]], ...]) -> Patterns:
    return Patterns(dict(cues))


def patterns(lexicon: Lexicon) -> Patterns:
    """The patterns of a lexicon's field cues, compiled once for each set of cues."""
    return _compiled(tuple((name, tuple(phrases)) for name, phrases in sorted(lexicon.cues.items())))


# Larger than any amount or count a note can mean (the session's bounds are 100,000 units and 100
# sites): a number written longer is read as this, not as infinity (int() of which raised
# OverflowError, and which extract's JSON wrote as Infinity); its field's input error names it.
LARGEST = 1e15


def count(written: str) -> int:
    return COUNT_WORDS.get(written.lower()) or int(num(written))


def num(written: str) -> float:
    return min(float(written.replace(",", "")), LARGEST)


def number(value: float):
    return int(value) if float(value).is_integer() else round(float(value), 2)
