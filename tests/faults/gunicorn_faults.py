"""gunicorn config for fault tests: a worker can be made to stop at a chosen point of a submit.

The test "arms" a point by creating ``$FAULT_DIR/arm-<point>``; the first worker to reach that
point claims it (removes the file), writes its pid to ``$FAULT_DIR/paused-<point>`` and sleeps, so
the test can SIGKILL it exactly there. Points:

- ``insert``: inside the submit's transaction, the score sheet row written, its criterion scores not;
- ``committed``: the submit committed, the response not yet sent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def _pause(point: str) -> None:
    fault_dir = Path(os.environ["FAULT_DIR"])
    try:
        (fault_dir / f"arm-{point}").unlink()  # atomic: exactly one request claims the point
    except FileNotFoundError:
        return
    (fault_dir / f"paused-{point}.tmp").write_text(str(os.getpid()))
    (fault_dir / f"paused-{point}.tmp").rename(fault_dir / f"paused-{point}")
    time.sleep(120)  # until killed


def post_worker_init(worker: Any) -> None:
    from flask import request
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    app = worker.wsgi

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CRITERION_SCORE"):
            _pause("insert")

    @app.after_request
    def _after(response: Any) -> Any:
        if request.method == "POST" and "/anchors/" in request.path and response.status_code == 302:
            _pause("committed")
        return response
