"""SPARQL syntax errors in words: where the text stops being SPARQL and what could come there.

rdflib's parser reports the grammar rule that failed ("Expected SelectQuery") at the start of
the part it could not read, which says little to someone learning SPARQL. On an error the text
is read once more with every rule of the grammar reporting its failures, and the furthest point
any rule reached is taken as where the error is (the usual reading of a failed parse). The rules
and tokens that failed there become words through a small table: '?' and '$' are "a variable",
the built-in functions "an expression", GROUP "GROUP BY", and so on. Only texts that failed to
parse are read again, so a valid query costs nothing more.
"""

from __future__ import annotations

import re
import threading

import pyparsing as pp
from rdflib.plugins.sparql import parser as grammar

# Named rules of rdflib's grammar (its Param and Comp names) and the words for what they read
RULE_WORDS = {
    "var": "a variable", "iri": "an IRI", "pname": "a prefixed name", "prefix": "a prefixed name",
    "string": "a literal", "literal": "a literal", "limit": "a whole number", "offset": "a whole number",
    "SelectQuery": "a query form (SELECT, ASK, CONSTRUCT or DESCRIBE)",
    "ConstructQuery": "a query form (SELECT, ASK, CONSTRUCT or DESCRIBE)",
    "DescribeQuery": "a query form (SELECT, ASK, CONSTRUCT or DESCRIBE)",
    "AskQuery": "a query form (SELECT, ASK, CONSTRUCT or DESCRIBE)",
    "PrefixDecl": "a PREFIX declaration", "Base": "BASE",
}
# Rules whose tokens are rdflib's own extensions or rarely meant: their tokens are not offered
HIDDEN_RULES = {"DistinctPath", "NegatedPropertySet", "PathNegatedPropertySet", "Collection", "CollectionPath",
                "BlankNodePropertyList", "BlankNodePropertyListPath"}
# Tokens and the words for them; keywords are shown as they are written
TOKEN_WORDS = {"?": "a variable", "$": "a variable", "<": "an IRI", "true": "a literal", "false": "a literal",
               "GROUP": "GROUP BY", "ORDER": "ORDER BY"}
OPERATORS = {"*", "/", "+", "-", "=", "!=", "<", ">", "<=", ">=", "IN", "NOT", "&&", "||"}
# What can start a graph pattern besides triples: shown as one item when several are possible
PATTERN_KEYWORDS = ("OPTIONAL", "MINUS", "GRAPH", "SERVICE", "FILTER", "BIND", "VALUES")
PATTERN_WORDS = "another pattern (OPTIONAL, FILTER, BIND, ...)"
EXPRESSION = "an expression"
# A term-like item makes the brackets that could open a compound form of it noise
TERMS = {"a variable", "an IRI", "a prefixed name", "a literal", EXPRESSION}
OPENERS = {"(", "[", "!", "^", "+", "-"}
CLOSERS = ("'}'", "')'", "']'", "'>'")  # listed first: a missing one is the likeliest slip
MOST_WORDS = 8  # items listed before "..."

_TOKEN = re.compile(r"[?$]\w+|<[^<>\s]*>?|[A-Za-z_][\w-]*(?::[\w.-]*)?|:[\w.-]*|\d+(?:\.\d+)?|'[^'\n]*'?"
                    r'|"[^"\n]*"?|\S')
_lock = threading.Lock()
_elements: list | None = None


def _grammar_elements() -> list:
    """Every element of rdflib's query grammar, once."""
    global _elements
    if _elements is None:
        seen, todo, out = set(), [grammar.QueryUnit], []
        while todo:
            element = todo.pop()
            if id(element) in seen:
                continue
            seen.add(id(element))
            out.append(element)
            todo.extend(getattr(element, "exprs", None) or ())
            inner = getattr(element, "expr", None)
            if isinstance(inner, pp.ParserElement):
                todo.append(inner)
        _elements = out
    return _elements


def _failures(text: str) -> list[tuple[int, int, object]]:
    """(where it failed, where it started, element) of every grammar element that failed while
    reading text, in order (an element's own tokens before the rule around them). Empty when the
    text parses."""
    failures: list[tuple[int, int, object]] = []
    owner = threading.get_ident()

    def failed(instring, loc, element, exc, cache_hit=False):
        if threading.get_ident() == owner:  # another thread parsing meanwhile is not recorded
            failures.append((exc.loc, loc, element))

    def nothing(*args, **kwargs):
        return None

    with _lock:
        elements = _grammar_elements()
        saved = [(e, e.debugActions, e.debug) for e in elements]
        try:
            for element in elements:
                element.set_debug_actions(nothing, nothing, failed)
            try:
                grammar.parseQuery(text)
            except (pp.ParseBaseException, RecursionError):
                pass
        finally:
            for element, actions, debug in saved:
                element.debugActions, element.debug = actions, debug
    return failures


def _word(token: str) -> str:
    if token in TOKEN_WORDS:
        return TOKEN_WORDS[token]
    return token.upper() if re.fullmatch(r"[A-Za-z_]{2,}", token) else f"'{token}'"


def _inside(element) -> set[int]:
    """The ids of the elements that make up a rule itself: down to, not into, the other named
    rules and the recursive ones (Forward) it uses, which speak for themselves."""
    seen, todo = set(), [element]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if e is not element and (getattr(e, "customName", None) or isinstance(e, pp.Forward)):
            continue
        todo.extend(getattr(e, "exprs", None) or ())
        inner = getattr(e, "expr", None)
        if isinstance(inner, pp.ParserElement):
            todo.append(inner)
    return seen


def _rule_word(element) -> str | None:
    name = getattr(element, "customName", None) or ""
    if name in RULE_WORDS:
        return RULE_WORDS[name]
    return EXPRESSION if name.startswith(("Builtin_", "Aggregate_", "Unary")) else None


def _words(failures: list[tuple[int, int, object]], at: int) -> list[str]:
    """What could have come at `at`, in the grammar's order, in words. A named rule that starts
    there speaks for the tokens within it (a variable, not '?' or '$'); one that started before
    and failed there (SelectQuery, failing at a triple) says nothing; the tokens of rdflib's own
    extensions (HIDDEN_RULES) are left out."""
    here = [(start, element) for failed_at, start, element in failures if failed_at == at]
    speaking = {id(e) for start, e in here if start == at and _rule_word(e)}
    covered: set[int] = set()
    for _start, element in here:
        if id(element) in speaking or getattr(element, "customName", None) in HIDDEN_RULES:
            covered |= _inside(element) - {id(element)}
    items = []
    for _start, element in here:
        if id(element) in speaking:
            items.append(_rule_word(element))
        elif isinstance(element, (pp.Keyword, pp.Literal)) and id(element) not in covered:
            items.append(_word(element.match))
    return _summarised(list(dict.fromkeys(items)))


def _summarised(items: list[str]) -> list[str]:
    tokens = {i.strip("'") for i in items}
    if tokens & {"=", "!=", "&&", "||"}:  # after an expression: the operators, not the terms '<' or '-' could start
        items = [i for i in items if i.strip("'") not in OPERATORS and i not in ("an IRI",)]
        items.insert(0, "an operator")
    if EXPRESSION in items:  # an expression takes every term and bracket
        items = [i for i in items if i not in TERMS - {EXPRESSION} and i.strip("'") not in OPENERS | {"+", "-"}]
    elif TERMS & set(items):
        items = [i for i in items if i.strip("'") not in OPENERS]
    if "a prefixed name" in items:
        items = [i for i in items if i != "':'"]
    patterns = [i for i in items if i in PATTERN_KEYWORDS]
    if len(patterns) > 2:
        first = items.index(patterns[0])
        items = [i for i in items if i not in PATTERN_KEYWORDS and i != "'{'"]
        items.insert(min(first, len(items)), PATTERN_WORDS)
    items = [i for i in items if i in CLOSERS] + [i for i in items if i not in CLOSERS]
    return list(dict.fromkeys(items))


def _either(items: list[str]) -> str:
    if len(items) > MOST_WORDS:
        items = items[:MOST_WORDS] + ["..."]
        return ", ".join(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _found(text: str, at: int) -> str:
    if at >= len(text):
        return "the end of the query"
    if text[at] == "\n":
        return "the end of the line"
    if text[at].isspace():
        return "a space"
    token = _TOKEN.match(text, at).group()
    return repr(token if len(token) <= 30 else token[:30] + "...")


def position(text: str, at: int) -> tuple[int, int]:
    """(line, column), both from 1, of a character offset."""
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def explain(text: str, error: pp.ParseBaseException) -> str:
    """One line for a text rdflib's query grammar could not read: where (line and column), what
    could have come there in words, and what was found."""
    try:
        failures = _failures(text)
    except Exception:  # the explanation must never hide the error itself
        failures = []
    at = max((loc for loc, _, _ in failures), default=error.loc)
    words = _words(failures, at) if at >= error.loc else []
    if at < error.loc:
        at = error.loc
    if "end of text" in str(error.msg) and error.loc == at:
        words.append("the end of the query")
    at, words = _reread_word(text, at, words, failures)
    if not words and 0 < at and text[at - 1] in "?$":
        words = ["a variable name"]
    line, column = position(text, at)
    where = f"SPARQL syntax error at line {line}, column {column}"
    if not words:
        return f"{where}: cannot read {_found(text, at)}"
    return f"{where}: expected {_either(words)}, found {_found(text, at)}"


def _keywords() -> set[str]:
    return {e.match.upper() for e in _grammar_elements() if isinstance(e, pp.Keyword)}


def _reread_word(text: str, at: int, words: list[str], failures) -> tuple[int, list[str]]:
    """A bare word just before the error point was read as the start of a prefixed name, so ':'
    is all the grammar could take next. After a keyword (OPTIONAL) that ':' is noise; after any
    other word (SELEC, OPTIONA) the error is the word itself: it is reported at its start, with
    what could have come there."""
    word = re.search(r"[A-Za-z_][\w-]*$", text[:at])
    if word is None or "':'" not in words:
        return at, words
    if word.group().upper() in _keywords():
        return at, [w for w in words if w != "':'"] or words
    if set(words) <= {"':'", "'('", "'{'"}:
        before = [w for w in _words(failures, word.start()) if w != "':'"]
        if before:
            return word.start(), before
    return at, words


_OXIGRAPH = re.compile(r"error at (\d+):(\d+): expected (?:one of )?(.*)", re.S)


def from_oxigraph(detail: str) -> str:
    """Oxigraph's message for a text rdflib's grammar read but Oxigraph does not (rare: the check
    reads every query first), in the same shape: its character classes ('A'..='Z', [_]) left
    out, which say nothing to a reader."""
    detail = " ".join(detail.split())
    match = _OXIGRAPH.match(detail)
    if not match:
        return f"SPARQL syntax error: {detail}"
    expected = [e.strip() for e in re.split(r",\s*(?![^\[]*\])", match.group(3))
                if e.strip() and not e.strip().startswith("[") and ".." not in e]
    where = f"SPARQL syntax error at line {match.group(1)}, column {match.group(2)}"
    return f"{where}: expected {_either(expected)}" if expected else f"{where}: cannot read the query there"
