"""National Drug Codes: read the forms coders write, give the 11-digit 5-4-2 billing form."""

from __future__ import annotations

import re

# 10-digit label forms (with hyphens) and how each pads to 5-4-2.
_FORMS = {
    (4, 4, 2): lambda a, b, c: "0" + a + b + c,
    (5, 3, 2): lambda a, b, c: a + "0" + b + c,
    (5, 4, 1): lambda a, b, c: a + b + "0" + c,
    (5, 4, 2): lambda a, b, c: a + b + c,
}


def normalise(text: str) -> str | None:
    """The 11-digit form without hyphens, or None when `text` is not an NDC.

    Accepted: 4-4-2, 5-3-2, 5-4-1 (10 digits, hyphens required: without them the
    padding is ambiguous), 5-4-2 with hyphens, and 11 digits without hyphens.
    """
    text = str(text).strip().replace(" ", "")
    if re.fullmatch(r"\d{11}", text):
        return text
    parts = text.split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    pad = _FORMS.get(tuple(len(p) for p in parts))
    return pad(*parts) if pad else None


def is_billing_form(text: str) -> bool:
    """True for the form a claim must carry: 11 digits, no hyphens."""
    return bool(re.fullmatch(r"\d{11}", str(text).strip()))


def show(ndc11: str) -> str:
    """00023114501 -> 00023-1145-01 (for messages)."""
    return f"{ndc11[:5]}-{ndc11[5:9]}-{ndc11[9:]}"
