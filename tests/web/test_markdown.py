"""Evidence Markdown: sanitised, and its headings never compete with the page's own."""

from __future__ import annotations

import pytest

from calibration.web.markdown import render


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Title", "<h3>Title</h3>"),
        ("## Part", "<h4>Part</h4>"),
        ("#### Deep", "<h6>Deep</h6>"),
        ("###### Deepest", "<h6>Deepest</h6>"),
    ],
)
def test_headings_are_shifted_below_the_page_headings(source: str, expected: str) -> None:
    assert str(render(source)).strip() == expected


def test_heading_offset_can_be_chosen() -> None:
    assert str(render("# Title", heading_offset=0)).strip() == "<h1>Title</h1>"


def test_raw_html_and_script_urls_are_neutralised() -> None:
    html = str(render("<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](https://example.org)"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html  # left as plain text, never a link
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
