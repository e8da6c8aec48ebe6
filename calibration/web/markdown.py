"""Evidence is stored as Markdown and rendered sanitised: raw HTML is escaped, then cleaned."""

from __future__ import annotations

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}


#: Evidence is shown under the page's h1 and a section h2, so its own headings start at h3.
HEADING_OFFSET = 2


def _shift_headings(html_tokens: list[Token], offset: int) -> None:
    for token in html_tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + offset, 6)}"


def render(text: str, heading_offset: int = HEADING_OFFSET) -> Markup:
    """Markdown to safe HTML (no raw HTML, no scripts, links get rel=noopener noreferrer nofollow).

    Headings are shifted down by ``heading_offset`` levels (capped at h6) so a ``# Title`` in the
    evidence never competes with the page's own headings.
    """
    tokens = _md.parse(text or "")
    _shift_headings(tokens, heading_offset)
    html = _md.renderer.render(tokens, _md.options, {})
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )
    return Markup(cleaned)


def init_app(app: Flask) -> None:
    app.add_template_filter(render, "markdown")
