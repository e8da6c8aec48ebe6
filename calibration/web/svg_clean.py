"""Turning matplotlib's SVG into markup a page can inline under ``style-src 'self'`` (see
:mod:`calibration.web.charts`): its ``<style>`` element and every ``style="..."`` attribute become SVG
presentation attributes, ids get a per-chart prefix, and the root carries ``role="img"``, an
``aria-label`` and a ``<title>``.
"""

from __future__ import annotations

import re

from markupsafe import escape

__all__ = ["clean_svg"]

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_STYLE_ELEMENT = re.compile(r"<style\b[^>]*>.*?</style>\s*", re.S)
_STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')
_TAG = re.compile(r"(<[^>]*>)")


def _presentation(match: re.Match[str]) -> str:
    """``style="fill: #fff; stroke-width: 0.8"`` -> ``fill="#fff" stroke-width="0.8"``."""
    out = []
    for decl in match.group(1).split(";"):
        prop, _, value = decl.partition(":")
        prop, value = prop.strip(), value.strip()
        if prop and value:
            out.append(f' {prop}="{value.replace(chr(34), chr(39))}"')
    return "".join(out)


def clean_svg(svg: str, label: str, prefix: str) -> str:
    """matplotlib's SVG made safe to inline: no prolog, metadata or ``<style>``, presentation attributes
    for ``style="..."``, ids prefixed (two charts on a page never share one), and the root labelled."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = _METADATA.sub("", svg)
    svg = _STYLE_ELEMENT.sub("", svg)
    parts = _TAG.split(svg)
    for i in range(1, len(parts), 2):  # tags only: text nodes (people's names) are left alone
        tag = _STYLE_ATTR.sub(_presentation, parts[i])
        tag = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', tag)
        parts[i] = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", tag)
    svg = "".join(parts)
    head_end = svg.index(">")
    head = svg[:head_end]  # width/height give the natural size; CSS (svg.chart-svg) lets it shrink
    text = escape(label)
    head += (
        f' role="img" aria-label="{text}" aria-labelledby="{prefix}-title" class="chart-svg"'
        ' stroke-linejoin="round" stroke-linecap="butt" focusable="false">'
        f'<title id="{prefix}-title">{text}</title>'
    )
    return head + svg[head_end + 1 :]
