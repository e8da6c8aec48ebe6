"""Make a freshly started process answer its first request about as fast as its hundredth.

A new process pays once for what a request uses for the first time: compiling every Jinja template it
renders, loading matplotlib and its font list for the first chart, and building SQLAlchemy's compiled
statement cache. :func:`warm_up` pays those at start instead, before the server takes requests (the
WSGI entry point calls it; the test suite does not, to keep its app fixtures cheap). Rendered charts and
computed reports also outlive the process (:mod:`calibration.services.report_store`), so a restart does
not redraw or recompute them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import configure_mappers

from ..db import Base, get_db
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


def warm_up(app: Flask) -> float:
    """Compile every template, load the chart library and warm the database layer; returns the seconds."""
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
    took = time.perf_counter() - start
    log.info("warmed up in %.2f s", took)
    return took
