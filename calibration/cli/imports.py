"""``import-ratings``: import a CSV file of operational ratings from the command line.

The file is copied under ``IMPORT_DIR`` first (the import reads its own copy, so it can be run
again if it is stopped half-way), then checked in full and stored in chunks like an upload.
"""

from __future__ import annotations

from typing import IO

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import get_db, write_intent
from ..models import ImportSource, ImportStatus, Program, RubricVersion
from ..services import operational_import as service
from ..services.context import SystemActor
from ..services.errors import InvalidInput
from ..services.operational_csv import spool

ERRORS_PRINTED = 50


@click.command("import-ratings")
@with_appcontext
@click.argument("file", type=click.File("rb"))
@click.option("--program", "program_slug", required=True, help="Slug of the program the ratings belong to.")
@click.option(
    "--rubric-version",
    "rubric_version",
    required=True,
    type=int,
    help="The rubric version the scores were given on: its id, or with --rubric its version number.",
)
@click.option(
    "--rubric", "rubric_slug", help="The rubric's slug (then --rubric-version is its version number)."
)
def import_ratings(file: IO[bytes], program_slug: str, rubric_version: int, rubric_slug: str | None) -> None:
    """Import operational ratings from FILE (CSV: submission_id, criterion, assessor, level, read,
    scored_at). Every row is checked first; nothing is stored unless every row passes."""
    maker = get_db().sessionmaker
    with maker() as session:
        program_id = session.scalar(select(Program.id).where(Program.slug == program_slug))
        if program_id is None:
            raise click.ClickException(f"No program with slug {program_slug!r}.")
        version_id = rubric_version
        if rubric_slug is not None:
            found = session.scalar(
                select(RubricVersion.id).where(
                    RubricVersion.program_id == program_id,
                    RubricVersion.slug == rubric_slug,
                    RubricVersion.version == rubric_version,
                )
            )
            if found is None:
                raise click.ClickException(f"The program has no version {rubric_version} of {rubric_slug!r}.")
            version_id = found
    spooled = spool(file, current_app.config["IMPORT_DIR"])
    with write_intent(), maker() as session:
        try:
            imp = service.create_import(
                session,
                SystemActor(program_id),
                rubric_version_id=version_id,
                source=ImportSource.CLI,
                filename=getattr(file, "name", "") or "stdin.csv",
                upload_path=spooled.path,
                content_sha256=spooled.sha256,
            )
        except InvalidInput as exc:
            service.discard_file(spooled.path)
            raise click.ClickException(f"Nothing was imported: {exc}") from exc
        session.commit()
        import_id = imp.id
    summary = service.process_import(maker, import_id)
    if summary.status == ImportStatus.DONE:
        click.echo(
            f"Import {import_id}: {summary.rows_total} rows, {summary.rows_stored} stored, "
            f"{summary.rows_already} already stored."
        )
        return
    with maker() as session:
        imp = service.get_import(session, program_id, import_id)
        if summary.status == ImportStatus.FAILED:
            raise click.ClickException(f"Import {import_id} could not run: {imp.message}")
        click.echo(f"Nothing was imported: {imp.error_count} errors in {imp.rows_total} rows.", err=True)
        for e in service.report_errors(imp)[:ERRORS_PRINTED]:
            click.echo(
                f"  row {e.row}, {e.column}: {e.problem}" + (f" ({e.value})" if e.value else ""), err=True
            )
        if imp.error_count > ERRORS_PRINTED:
            click.echo(f"  ... and {imp.error_count - ERRORS_PRINTED} more.", err=True)
    raise SystemExit(1)
