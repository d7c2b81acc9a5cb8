"""How deeply a text nests, measured before any parser sees it.

Parsers recurse once per level of nesting: a few kilobytes of brackets crash a native SPARQL
parser (a stack overflow ends its process) and exhaust Python's recursion in the JSON and
Turtle readers. These scans count brackets in one pass, with no recursion, so a limit can be
checked first and the request refused with a 4xx naming the limit.

`depth` skips string literals and comments as the formats define them; `brackets` counts every
bracket whatever its context. A scanner that skips context can be misled where the format is
ambiguous (in SPARQL `1<2)...` may be read as the start of an IRI), so the context-free count is
the hard bound: callers check both.
"""

from __future__ import annotations

OPEN = frozenset("([{")
CLOSE = frozenset(")]}")


def brackets(text: str | bytes) -> int:
    """Opening brackets in the text, in any context (an upper bound on any parser's nesting)."""
    if isinstance(text, bytes):
        return text.count(b"(") + text.count(b"[") + text.count(b"{")
    return text.count("(") + text.count("[") + text.count("{")


def depth(text: str | bytes, *, comments: str | None = "#", quotes: str = "\"'", long_strings: bool = True) -> int:
    """The deepest nesting of ([{ outside string literals and comments. `comments` is the
    character that starts a comment running to the end of the line (None: the format has none);
    `long_strings`: triple-quoted strings may span lines (SPARQL, Turtle). A short string ends at
    its line. Unbalanced closers never lower the count below zero."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    deepest = level = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in quotes:
            long_quote = long_strings and text.startswith(c * 3, i)
            end = c * 3 if long_quote else c
            j = i + len(end)
            while j < n and not text.startswith(end, j):
                if text[j] == "\\":
                    j += 1
                elif not long_quote and text[j] in "\r\n":
                    break
                j += 1
            i = j + len(end)
            continue
        if comments is not None and c == comments:
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if c in OPEN:
            level += 1
            deepest = max(deepest, level)
        elif c in CLOSE and level:
            level -= 1
        i += 1
    return deepest
