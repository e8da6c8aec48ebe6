"""Making a chart's SVG (see :mod:`calibration.web.charts`) ready to inline in a page: ids get a
per-chart prefix, so two charts on one page never share one (a clip path, a gradient), and the root
carries ``role="img"``, an ``aria-label`` and a ``<title>``.

The SVG writers (:mod:`.control_svg`, :mod:`.plot_svg`, :mod:`.round_svg`) already write presentation
attributes, never ``<style>`` or ``style="..."`` (the page's CSP has ``style-src 'self'``), and start
with the ``<svg>`` root itself; ``tests/web/test_charts_runtime.py`` checks that for every chart kind.
"""

from __future__ import annotations

import re

from markupsafe import escape

__all__ = ["clean_svg"]

_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')
_TAG = re.compile(r"(<[^>]*>)")


def clean_svg(svg: str, label: str, prefix: str) -> str:
    """The SVG with its ids (and the references to them) under ``prefix`` and its root labelled."""
    if not svg.startswith("<svg"):
        raise ValueError("a chart's SVG starts with its <svg> root")
    parts = _TAG.split(svg)
    for i in range(1, len(parts), 2):  # tags only: text nodes (people's names) are left alone
        tag = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', parts[i])
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
