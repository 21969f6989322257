"""Text is readable in both colour schemes: WCAG AA (4.5:1) from ripcord.css's own variables.

The colours live in two blocks of static/css/ripcord.css, light (``:root``) and dark
(``@media (prefers-color-scheme: dark)``); every other stylesheet uses only the variables
(checked here too), so checking the pairs below checks every page, the postmortem included.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "static" / "css"
AA = 4.5

# (text, background): every pair the stylesheets put text on.
PAIRS = [
    ("fg", "bg"),
    ("fg", "card"),
    ("fg", "raised"),
    ("fg", "subtle"),
    ("fg", "neutral-bg"),
    ("fg", "chip-bg"),
    ("fg", "info-bg"),
    ("fg", "gate-bg"),
    ("fg", "need-bg"),
    ("fg", "done-bg"),
    ("fg", "skipped-bg"),
    ("muted", "bg"),
    ("muted", "card"),
    ("muted", "done-bg"),
    ("muted", "skipped-bg"),
    ("muted", "neutral-bg"),
    ("accent", "bg"),
    ("accent", "card"),
    ("accent", "done-bg"),
    ("on-accent", "accent"),
    ("ok", "card"),
    ("ok", "ok-bg"),
    ("warn", "card"),
    ("warn", "warn-bg"),
    ("bad", "card"),
    ("bad", "bad-bg"),
    ("skip", "skipped-bg"),
    ("drill-fg", "drill-bg"),
    ("bg", "fg"),  # a pressed toggle
    ("topbar-fg", "topbar-bg"),
    ("topbar-link", "topbar-bg"),
    ("log-fg", "log-bg"),
    ("log-muted", "log-bg"),
    ("log-fg", "log-hit"),
    ("log-fg", "log-target"),
]


def schemes() -> dict[str, dict[str, str]]:
    text = (CSS / "ripcord.css").read_text()
    light = text[text.index(":root {") : text.index("}", text.index(":root {"))]
    dark_at = text.index("@media (prefers-color-scheme: dark)")
    dark = text[dark_at : text.index("}", text.index(":root {", dark_at))]
    read = lambda block: dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})\s*;", block))  # noqa: E731
    return {"light": read(light), "dark": read(dark)}


def luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_formula_agrees_with_known_values():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_both_schemes_define_the_same_colours():
    found = schemes()
    assert found["light"].keys() == found["dark"].keys()
    assert {name for pair in PAIRS for name in pair} <= found["light"].keys()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_body_text_meets_wcag_aa_in_both_schemes(scheme):
    colours = schemes()[scheme]
    low = {
        f"{fg} on {bg}": round(contrast(colours[fg], colours[bg]), 2)
        for fg, bg in PAIRS
        if contrast(colours[fg], colours[bg]) < AA
    }
    assert not low, f"{scheme}: below {AA}:1: {low}"


@pytest.mark.parametrize("sheet", ["postmortem.css", "log_view.css"])
def test_other_stylesheets_use_only_the_variables(sheet):
    """A literal colour there would not change with the scheme."""
    text = (CSS / sheet).read_text()
    assert not re.findall(r"#[0-9a-fA-F]{3,6}\b|rgba?\(", text)


def test_ripcord_css_has_no_colour_outside_its_variable_blocks():
    text = (CSS / "ripcord.css").read_text()
    dark_at = text.index("@media (prefers-color-scheme: dark)")
    rest = text[text.index("}", text.index(":root {", dark_at)) :]
    rest = rest[rest.index("}") + 1 :]  # past the media block's own brace
    head = text[text.index("}", text.index(":root {")) : dark_at]
    assert not re.findall(r"#[0-9a-fA-F]{3,6}\b", head + rest)
