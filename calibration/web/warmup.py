"""Make a freshly started process answer its first request about as fast as its hundredth.

A new process pays once for what a request uses for the first time: compiling every Jinja template it
renders, loading what the first charts use (chiefly Pillow, for a large heat map's image), and building
SQLAlchemy's compiled statement cache. :func:`warm_up` pays those at start instead, before the server takes requests (the
WSGI entry point calls it; the test suite does not, to keep its app fixtures cheap). Rendered charts and
computed reports also outlive the process (:mod:`calibration.services.report_store`), so a restart does
not redraw or recompute them.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import time

from flask import Flask, g
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from ..db import Base, get_db, get_session
from ..models import Membership, Role, Round
from ..services import report_store
from ..services.auth import resolve_session
from . import charts

__all__ = ["warm_up"]

log = logging.getLogger(__name__)


def _warm_database(app: Flask) -> None:
    """Open the first pooled connection and compile a read of every table (reading no rows).

    The SQL compiler quotes and caches each table's and column's name on first use, per process; every
    request also resolves its login session first. An unknown token reads nothing and writes nothing.
    """
    with get_db(app).sessionmaker() as session:  # closing it ends the read-only transaction
        try:
            for mapper in Base.registry.mappers:
                session.execute(select(mapper.class_).limit(0)).all()
            resolve_session(session, "warm-up", idle=dt.timedelta(minutes=1), absolute=dt.timedelta(hours=1))
        except SQLAlchemyError as exc:  # no database yet (``flask migrate`` loads this app too)
            log.info("database not warmed up: %s", exc.__class__.__name__)


#: The pages read first after a start (``bench/first_request.py``), by role; each only reads.
WARM_PAGES = {
    Role.LEAD_TRAINER: (
        "trainer.rounds",
        "trainer.overview",
        "trainer.flags",
        "trainer.people",
        "trainer.anchors",
    ),
    Role.ASSESSOR: ("assessor.dashboard", "assessor.progress", "assessor.certification"),
}


def _warm_pages(app: Flask) -> None:
    """Render :data:`WARM_PAGES` once, as a lead trainer and an assessor of the program with the
    most rounds would see them, writing nothing.

    A page's first request otherwise compiles each of its statements (SQLAlchemy caches a
    statement's SQL by its shape, so one program's pages warm them for all), makes the first calls
    of its statistics and loads its charts from the report store. The view functions are called
    directly, without a login session: nothing is recorded and every transaction is rolled back.
    """
    with get_db(app).sessionmaker() as session:
        try:
            program_id = session.scalar(
                select(Round.program_id).group_by(Round.program_id).order_by(func.count().desc()).limit(1)
            )
            members = {
                role: session.scalar(
                    select(Membership.id)
                    .where(Membership.program_id == program_id, Membership.role == role)
                    .order_by(Membership.id)
                    .limit(1)
                )
                for role in WARM_PAGES
            }
        except SQLAlchemyError as exc:  # no database yet
            log.info("pages not warmed up: %s", exc.__class__.__name__)
            return
    urls = app.url_map.bind("localhost")
    for role, endpoints in WARM_PAGES.items():
        if members[role] is None:
            continue
        for endpoint in endpoints:
            view = app.view_functions.get(endpoint)
            if view is None:
                continue
            with app.test_request_context(urls.build(endpoint)):
                db_session = get_session()
                try:
                    membership = db_session.get(Membership, members[role])
                    g.user = membership.user if membership is not None else None
                    g.membership = membership
                    g.request_id = "warm-up"
                    view()
                except Exception as exc:  # a page that cannot be warmed is simply warmed by its first request
                    log.info("page %s not warmed up: %s", endpoint, exc.__class__.__name__)
            # Leaving the request context closes its session: whatever a view began is discarded.


def warm_up(app: Flask) -> float:
    """Compile every template, draw one throw-away chart of each kind and warm the database layer;
    returns the seconds."""
    start = time.perf_counter()
    env = app.jinja_env
    for name in env.list_templates(filter_func=lambda n: n.endswith((".html", ".txt", ".ics", ".xml"))):
        env.get_template(name)
    charts.warm_up()
    configure_mappers()  # the ORM's relationship set-up, otherwise done by the first query
    report_store.code_version()
    charts.code_version()
    with app.app_context():
        _warm_database(app)
        _warm_pages(app)
    # Everything loaded so far lives as long as the process: collect once now and move it out of
    # the collector's generations, or the first requests pay for a full collection that walks every
    # module, template and mapper just loaded (about 0.2 s here, on whichever request triggers it).
    gc.collect()
    gc.freeze()
    took = time.perf_counter() - start
    log.info("warmed up in %.2f s", took)
    return took
