"""Assessor calibration and inter-rater reliability service."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

# Nothing web-related is imported at package import time: ``calibration.stats`` and
# ``calibration.rubrics`` must stay importable without Flask or SQLAlchemy.


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Application factory: configuration, then each subsystem's ``init_app``."""
    from flask import Flask

    app = Flask(__name__, instance_relative_config=True)
    load_config(app, test_config)
    limit_numeric_threads(app)
    register_extensions(app)
    register_request_hooks(app)
    register_blueprints(app)
    register_cli(app)
    register_error_handlers(app)
    return app


def load_config(app: Flask, test_config: Mapping[str, Any] | None) -> None:
    from . import config as config_module

    app.config.from_mapping(config_module.from_environment(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    config_module.apply_cookie_prefix(app.config)
    config_module.check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)


def limit_numeric_threads(app: Flask) -> None:
    """One BLAS/OpenMP thread per process (``NUMERIC_THREADS``, default 1).

    The server's parallelism is its worker processes; a multi-threaded BLAS inside each worker only
    fights them for the cores. On two busy cores the bootstrap's small matrix products were 3-7x
    slower with a thread per core than with one thread.
    """
    threads = app.config.get("NUMERIC_THREADS")
    if not threads:
        return
    # The limit applies to the libraries loaded now: load numpy's and scipy's BLAS first.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(threads))


def register_extensions(app: Flask) -> None:
    from flask_wtf.csrf import CSRFProtect

    from . import db
    from .notify import mail, queue
    from .services import report_store
    from .web import markdown, times

    db.init_app(app)
    report_store.configure(app.config.get("CACHE_DIR"))
    CSRFProtect(app)
    markdown.init_app(app)
    times.init_app(app)
    mail.init_app(app)
    queue.init_app(app)


def register_request_hooks(app: Flask) -> None:
    from .web import hooks

    hooks.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .web import register_blueprints as register

    register(app)


def register_cli(app: Flask) -> None:
    from . import cli

    cli.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from .web import errors

    errors.init_app(app)
