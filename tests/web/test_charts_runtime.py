"""The running service draws its charts without matplotlib (review of issue 17): no module imports it,
a started app that renders every chart kind never loads it, the SVG writers write markup that needs
no clean-up beyond labelling and id prefixes (what ``svg_clean`` still does), stored charts are filed
under every file that decides their look (the colour table too), and the warm-up draws each kind
without caching or storing anything."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from calibration.services import report_store
from calibration.web import charts, round_svg
from calibration.web.svg_clean import clean_svg

from .chart_kinds import draw_every_kind

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "calibration" / "web"
IDS = re.compile(r'\bid="([^"]+)"')
REFS = re.compile(r'(?:url\(#|href="#)([^")]+)')


@pytest.fixture
def no_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts drawn afresh and kept nowhere but the in-process cache (emptied first)."""
    monkeypatch.setattr(report_store, "_store", None)
    charts.clear_cache()


@pytest.fixture
def raw(monkeypatch: pytest.MonkeyPatch, no_store: None) -> list[str]:
    """Every SVG a writer hands to ``clean_svg``, before the clean-up."""
    seen: list[str] = []

    def spy(svg: str, label: str, prefix: str) -> str:
        seen.append(svg)
        return clean_svg(svg, label, prefix)

    monkeypatch.setattr(charts, "clean_svg", spy)
    return seen


def test_no_module_of_the_service_imports_matplotlib() -> None:
    importing = re.compile(r"^\s*(import|from)\s+matplotlib\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "calibration").rglob("*.py")
        if importing.search(path.read_text(encoding="utf-8"))
    ]
    offenders += [
        name for name in ("wsgi.py",) if importing.search((ROOT / name).read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_a_started_app_drawing_every_chart_kind_never_loads_matplotlib(tmp_path: Path) -> None:
    """In a process of its own (other tests here may have loaded matplotlib): create and warm up the
    app as ``wsgi.py`` does, request a page, and draw every chart kind."""
    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "SECRET_KEY": "test-secret-key-with-enough-length-0123456789",
        "CREDENTIAL_KEY": "test-credential-key-with-enough-length-012345",
        "RUBRIC_DIR": str(ROOT / "rubrics"),
        "CACHE_DIR": str(tmp_path / "cache"),
        "IMPORT_DIR": str(tmp_path / "import-uploads"),
    }
    script = """
import json, sys
from calibration import create_app
from calibration.web.warmup import warm_up
app = create_app(json.loads(sys.argv[1]))
warm_up(app)
status = app.test_client().get("/login").status_code
from tests.web.chart_kinds import draw_every_kind
drawn = draw_every_kind("subprocess")
print(json.dumps({
    "status": status,
    "kinds": sorted(k for k, c in drawn.items() if 'role="img"' in str(c.svg)),
    "matplotlib": sorted(m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")),
}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(config)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    assert result["kinds"] == _KINDS
    assert result["matplotlib"] == []


_KINDS = ["bars", "control", "heatmap", "heatmap-large", "interval", "series", "strips"]


def test_the_writers_need_no_style_or_prolog_clean_up(raw: list[str]) -> None:
    """What ``svg_clean`` no longer does (matplotlib's prolog, metadata, ``<style>`` and
    ``style="..."`` attributes) no writer produces: each starts with its root and styles nothing."""
    drawn = draw_every_kind("raw")
    assert sorted(drawn) == _KINDS and len(raw) == len(_KINDS)
    for svg in raw:
        assert svg.startswith("<svg ")
        for dead in ("style=", "<style", "<?xml", "<!DOCTYPE", "<metadata", "<script"):
            assert dead not in svg


def test_ids_are_prefixed_per_chart_and_every_reference_resolves(no_store: None) -> None:
    """What ``svg_clean`` still does: a series' clip paths and a heat map's colour gradient keep
    their references, under ids no other chart on the page uses; the root is labelled."""
    pages = [draw_every_kind("first"), draw_every_kind("second")]
    seen: set[str] = set()
    for drawn in pages:
        for kind, chart in drawn.items():
            svg = str(chart.svg)
            ids = IDS.findall(svg)
            assert len(ids) == len(set(ids)), kind
            assert not (seen & set(ids)), kind
            seen |= set(ids)
            assert set(REFS.findall(svg)) <= set(ids), kind
            root = svg[: svg.index(">")]
            assert 'role="img"' in root and f'aria-label="{chart.label}"' in root, kind
            title = re.search(r'aria-labelledby="([^"]+)"', root)
            assert title and f'<title id="{title.group(1)}">{chart.label}</title>' in svg
    assert any(i.endswith("-bar") for i in seen) and any(i.endswith("-plot0") for i in seen)


def test_clean_svg_prefixes_only_tags_and_refuses_anything_before_the_root() -> None:
    svg = '<svg width="1"><clipPath id="a"/><g clip-path="url(#a)"/><text>id="a" url(#a)</text></svg>'
    out = clean_svg(svg, "A & B", "c1")
    assert '<clipPath id="c1-a"/>' in out and 'clip-path="url(#c1-a)"' in out
    assert '<text>id="a" url(#a)</text>' in out  # text is people's input, never rewritten
    assert 'aria-label="A &amp; B"' in out and '<title id="c1-title">A &amp; B</title>' in out
    with pytest.raises(ValueError):
        clean_svg('<?xml version="1.0"?>\n' + svg, "A", "c1")


def test_stored_charts_are_filed_under_every_file_that_draws_them() -> None:
    drawing = {
        p
        for pattern in ("*_svg.py", "svg_*.py", "charts.py", "*.txt", "*.npy", "*.json")
        for p in WEB.glob(pattern)
    }
    assert set(charts.CHART_SOURCES) == drawing
    assert round_svg.VIRIDIS_FILE in drawing and all(p.is_file() for p in drawing)


def test_a_changed_colour_table_files_charts_under_a_new_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def version_of_copies(folder: str, table: str | None = None) -> str:
        """The version with every chart source copied to ``folder`` (the digest is cached by path)."""
        copies = []
        for source in charts.CHART_SOURCES:
            copy = tmp_path / folder / source.name
            copy.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, copy)
            copies.append(copy)
        if table is not None:
            (tmp_path / folder / round_svg.VIRIDIS_FILE.name).write_text(table, encoding="utf-8")
        with monkeypatch.context() as m:
            m.setattr(charts, "CHART_SOURCES", tuple(copies))
            return charts.code_version()

    text = round_svg.VIRIDIS_FILE.read_text(encoding="utf-8")
    assert "\n440154\n" in text
    same = version_of_copies("same")
    assert same == charts.code_version() == version_of_copies("again")
    assert version_of_copies("changed", text.replace("\n440154\n", "\n440155\n")) != same


def test_warm_up_draws_every_kind_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: list[str]
) -> None:
    store = tmp_path / "store"
    report_store.configure(str(store))
    files = sorted(store.rglob("*"))
    try:
        round_svg.viridis.cache_clear()
        drawn: list[Any] = charts.warm_up()
        assert round_svg.viridis.cache_info().currsize == 1
    finally:
        report_store.configure(None)
    assert len(drawn) == len(raw) == 7 and all('role="img"' in str(svg) for svg in drawn)
    assert any("<image " in svg for svg in raw)  # the large heat map's PNG (Pillow loaded)
    assert any("<circle" in svg for svg in raw) and any('fill="url(#bar)"' in svg for svg in raw)
    assert not charts._CACHE
    assert sorted(store.rglob("*")) == files
