"""``flask worker [--workers N]``: run background jobs (see ``calibration/notify/queue.py``).

Start as many worker processes, on as many machines, as the work needs: with PostgreSQL they share
one queue. Each sweeps at start and every ``JOBS_SWEEP_SECONDS`` for jobs to take over (those of a
worker that was killed, once their lease has run out). Ctrl+C or SIGTERM stops it after the jobs
it is running; a job cut short by ``kill -9`` runs again on another worker.
"""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from ..notify import queue


@click.command("worker")
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Threads running jobs."
)
@with_appcontext
def worker(workers: int) -> None:
    """Run background jobs (webhook deliveries, mail, drift evaluation, imports) until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs_queue = queue.get_queue()
    if jobs_queue.immediate:
        raise click.ClickException("JOBS_IMMEDIATE is on: jobs run in the process that enqueues them.")
    where = str(current_app.config["DATABASE_URL"]).split("@")[-1]
    click.echo(f"Worker with {workers} thread(s) on {where}")
    jobs_queue.start_sweeper()
    jobs_queue.consumer(workers).run()
