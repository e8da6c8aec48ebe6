"""Real-browser tests: Debian's headless Chromium, driven by Playwright's sync API, against the app
served by a real gunicorn on loopback with the demo program seeded by the real ``seed-demo`` code.

SQLite only: ``database_url`` is overridden here (session scope) so the browser tests share one
seeded database, copied from the session's migrated template, and one gunicorn (starting the app
takes several seconds), instead of a server per test and per backend. Because the server is
shared, each test uses its own demo people or anchors and none depends on another having run:
keep it that way when adding tests (see the table in ``support.py``).

The server sends its mail by SMTP to ``mail_sink`` (aiosmtpd on loopback, ``tests/mailsink.py``):
``site.mail`` holds every message, for tests that follow a link from a mail.

Test modules here mark themselves ``browser`` and ``xdist_group("browser")``: under
``--dist loadgroup`` they all run in one xdist worker (one Chromium, one gunicorn).

Without /usr/bin/chromium the tests are skipped; with ``CI=true`` that is a failure instead.
(Playwright itself is a ``dev`` dependency: without it the modules fail to import.)
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from calibration.db import make_engine, write_intent
from calibration.services.demo import seed_demo

from ..conftest import _fresh_sqlite
from ..mailsink import Sink, running_sink
from ..server import free_port, gunicorn
from .support import ARTIFACTS, DEMO_NOW, OPEN_ROUND, PAST_ROUND, ROOT, WIDE, DemoRound, load_round

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")
FAILURES = ARTIFACTS / "failures"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} not found (install Debian's chromium package)"
        if IN_CI:
            pytest.fail(f"browser tests are required under CI=true: {problem}")
        pytest.skip(problem)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def database_url(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite only, one fresh migrated database for the browser tests (overrides the per-test,
    per-backend fixture of tests/conftest.py, reusing its template copy)."""
    return _fresh_sqlite(sqlite_template, tmp_path_factory.mktemp("browser-db"))


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[Sink]:
    """The SMTP server the browser tests' gunicorn sends its mail to (every test's mail, in order)."""
    with running_sink() as sink:
        yield sink


@dataclass
class Site:
    base: str
    database_url: str
    open_round: DemoRound
    past_round: DemoRound
    mail: Sink
    _sessions: Any = field(repr=False, default=None)

    def url(self, path: str) -> str:
        return self.base + path

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A read session on the server's database (to compute what pages should show)."""
        with self._sessions() as session:
            yield session


@pytest.fixture(scope="session")
def site(browser: Browser, database_url: str, mail_sink: Sink) -> Iterator[Site]:
    """The demo program, seeded as ``flask seed-demo`` does, served by gunicorn on loopback, sending
    its mail by SMTP to ``mail_sink``.

    Depends on ``browser`` first so that a missing Chromium skips before any server is started."""
    engine = make_engine(database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    try:
        with write_intent(), sessions() as session:
            result = seed_demo(session, ROOT / "rubrics", now=DEMO_NOW)
            session.commit()
        assert result.created
        with sessions() as session:
            open_round = load_round(session, OPEN_ROUND)
            past_round = load_round(session, PAST_ROUND)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        mail_env = {
            "MAIL_BACKEND": "smtp",
            "MAIL_HOST": "127.0.0.1",
            "MAIL_PORT": str(mail_sink.port),
            "MAIL_SECURITY": "none",
            "PUBLIC_BASE_URL": base,
        }
        with gunicorn(database_url, workers=2, port=port, extra_env=mail_env) as served:
            assert served == base
            yield Site(base, database_url, open_round, past_round, mail_sink, sessions)
    finally:
        engine.dispose()


@dataclass
class PageFactory:
    """New isolated browser contexts (own cookies) with a page each; all closed after the test."""

    browser: Browser
    contexts: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __call__(self, viewport: dict[str, int] | None = None) -> Page:
        context = self.browser.new_context(viewport=viewport or WIDE, reduced_motion="reduce")
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # 4xx pages are expected in some tests; anything else (a CSP violation, a script error) is not.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(f"console error: {message.text}")

    def save_failure_screenshots(self, test_name: str) -> None:
        FAILURES.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.-]+", "_", test_name)
        for c, context in enumerate(self.contexts):
            for p, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(FAILURES / f"{safe}-{c}-{p}.png"), full_page=True)
                    (FAILURES / f"{safe}-{c}-{p}.url").write_text(page.url, encoding="utf-8")
                except Error:  # pragma: no cover - best effort only
                    pass

    def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Error):  # the browser may already have gone away
                context.close()


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    factory = PageFactory(browser)
    try:
        yield factory
    finally:
        if request.node.stash.get(_CALL_FAILED, False):
            factory.save_failure_screenshots(request.node.name)
        factory.close()
    assert not factory.problems, "the browser reported problems:\n" + "\n".join(factory.problems)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()
