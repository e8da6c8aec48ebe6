"""Command-line tasks: ``flask --app wsgi <command>``. Each command commits once."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import get_db, write_intent
from ..db import migrate as migrate_module
from ..db import roles as db_roles
from ..models import Membership, Program, Role, User
from ..rubrics import RubricFileError, load_rubric_dir, load_rubric_file
from ..services import audit, demo, onboarding
from ..services.auth import normalise_email, set_password
from ..services.context import SystemActor
from ..services.rubrics import import_rubrics
from ..services.rules import DEFAULT_PROGRAM_SETTINGS
from ..services.scoring import ONE_LINE_MESSAGE, is_one_line
from .credentials import credential_key, verify_credential
from .drift import evaluate_drift
from .imports import import_ratings
from .reminders import send_mail, send_reminders
from .validity import expire_validity
from .worker import worker


def init_app(app: Flask) -> None:
    for command in (
        migrate,
        create_app_role,
        import_rubrics_command,
        seed_demo,
        create_program,
        create_user,
        set_password_command,
        verify_audit,
    ):
        app.cli.add_command(command)
    app.cli.add_command(send_reminders)
    app.cli.add_command(send_mail)
    app.cli.add_command(evaluate_drift)
    app.cli.add_command(expire_validity)
    app.cli.add_command(credential_key)
    app.cli.add_command(verify_credential)
    app.cli.add_command(import_ratings)
    app.cli.add_command(worker)


def _session() -> Session:
    return get_db().sessionmaker()


_OWNER_URL_HELP = "The owner role's database URL (default: MIGRATE_DATABASE_URL, else DATABASE_URL)."


def _owner_url(option: str | None) -> str:
    """Schema changes run as the owner role: the option, else MIGRATE_DATABASE_URL, else DATABASE_URL."""
    return option or current_app.config.get("MIGRATE_DATABASE_URL") or current_app.config["DATABASE_URL"]


@click.command("migrate")
@with_appcontext
@click.option("--revision", default="heads", show_default=True)
@click.option("--database-url", "database_url", help=_OWNER_URL_HELP)
def migrate(revision: str, database_url: str | None) -> None:
    """Upgrade the database schema (Alembic), as the owner role."""
    migrate_module.upgrade(_owner_url(database_url), revision)
    click.echo(f"Database at revision {revision}.")


@click.command("create-app-role")
@with_appcontext
@click.argument("name")
@click.option(
    "--password",
    prompt=True,
    prompt_required=False,
    hide_input=True,
    confirmation_prompt=True,
    envvar="APP_ROLE_PASSWORD",
    help="Set the role's password (prompted for when given without a value; also APP_ROLE_PASSWORD). "
    "Needed to create the role; without it an existing role keeps its password.",
)
@click.option("--database-url", "database_url", help=_OWNER_URL_HELP)
def create_app_role(name: str, password: str | None, database_url: str | None) -> None:
    """Create or update the PostgreSQL login role the server runs as (run as the owner).

    The role may read and write rows but owns nothing: no DDL, no TRUNCATE, no switching the
    immutability triggers off. Run it again after each migrate to narrow new append-only tables.
    """
    try:
        grants = db_roles.grant_app_role(_owner_url(database_url), name, password)
    except db_roles.AppRoleError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Role {grants.role!r} {'created' if grants.created else 'updated'} in schema {grants.schema!r}."
    )
    click.echo(f"  read and write: {len(grants.read_write)} tables")
    click.echo(f"  insert only (append-only): {', '.join(grants.append_only) or 'none'}")
    click.echo(f"  read only: {', '.join(grants.read_only) or 'none'}")
    click.echo("No ownership, no TRUNCATE, no DDL. Use this role's URL as the server's DATABASE_URL.")


@click.command("import-rubrics")
@with_appcontext
@click.option("--program", "program_slug", required=True, help="Program slug to import into.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def import_rubrics_command(program_slug: str, paths: tuple[Path, ...]) -> None:
    """Import rubric files (default: the rubrics/ folder). All files are validated before anything is written."""
    targets = paths or (Path(current_app.config["RUBRIC_DIR"]),)
    try:
        definitions = []
        for path in targets:
            definitions.extend(load_rubric_dir(path) if path.is_dir() else [load_rubric_file(path)])
    except RubricFileError as exc:
        raise click.ClickException(f"Nothing was imported. {exc}") from exc
    with write_intent(), _session() as session:
        program = session.scalar(select(Program).where(Program.slug == program_slug))
        if program is None:
            raise click.ClickException(f"No program with slug {program_slug!r}.")
        outcomes = import_rubrics(session, SystemActor(program.id), program.id, definitions)
        session.commit()
    for o in outcomes:
        click.echo(
            f"{o.slug}: version {o.version} " + ("imported" if o.created else "already stored (unchanged)")
        )


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo program once and print the demo logins."""
    with write_intent(), _session() as session:
        result = demo.seed_demo(session, current_app.config["RUBRIC_DIR"])
        session.commit()
    click.echo("Demo data " + ("created." if result.created else "already present."))
    click.echo(f"Demo logins (password for all: {result.password}):")
    for login in result.logins:
        click.echo(f"  {login.role:<13} {login.email:<22} {login.name}")


@click.command("create-program")
@with_appcontext
@click.option("--slug", required=True)
@click.option("--name", required=True)
def create_program(slug: str, name: str) -> None:
    """Create a program with the default rules."""
    import json

    with write_intent(), _session() as session:
        if session.scalar(select(Program).where(Program.slug == slug)):
            raise click.ClickException(f"A program with slug {slug!r} already exists.")
        name = name.strip()
        if not name or not is_one_line(name):
            # The name goes into invitation subjects.
            raise click.ClickException(f"The program name {ONE_LINE_MESSAGE}, and cannot be empty.")
        program = Program(slug=slug, name=name, settings_json=json.dumps(DEFAULT_PROGRAM_SETTINGS))
        session.add(program)
        session.flush()
        audit.record(
            session, SystemActor(program.id), "program.create", object_type="program", object_id=program.id
        )
        session.commit()
    click.echo(f"Program {slug!r} created.")


@click.command("create-user")
@with_appcontext
@click.option("--program", "program_slug", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.password_option()
def create_user(program_slug: str, email: str, name: str, role: str, password: str) -> None:
    """Create a user with a role in a program."""
    with write_intent(), _session() as session:
        program = session.scalar(select(Program).where(Program.slug == program_slug))
        if program is None:
            raise click.ClickException(f"No program with slug {program_slug!r}.")
        if session.scalar(select(User).where(User.email == normalise_email(email))):
            raise click.ClickException(f"A user with email {email!r} already exists.")
        _check_password(password)
        if problem := onboarding.check_name(name):
            raise click.ClickException(problem)
        user = User(email=normalise_email(email), name=name.strip(), password_hash=None)
        session.add(user)
        session.flush()
        set_password(session, user, password, reason="password_set")
        session.add(Membership(user_id=user.id, program_id=program.id, role=Role(role)))
        audit.record(session, SystemActor(program.id), "user.create", object_type="user", object_id=user.id)
        session.commit()
    click.echo(f"User {email} created as {role} in {program_slug}.")


def _check_password(password: str) -> None:
    problems = [m for messages in onboarding.check_password(password).values() for m in messages]
    if problems:
        raise click.ClickException(" ".join(problems))


@click.command("set-password")
@with_appcontext
@click.option("--email", required=True)
@click.password_option()
def set_password_command(email: str, password: str) -> None:
    """Set a person's password (e.g. an admin helping someone locked out). Every login session of
    theirs ends and every reset link mailed to them stops working."""
    _check_password(password)
    with write_intent(), _session() as session:
        user = session.scalar(select(User).where(User.email == normalise_email(email)))
        if user is None:
            raise click.ClickException(f"No user with email {email!r}.")
        set_password(session, user, password, reason="password_set")
        audit.record(session, SystemActor(None), "password.set", object_type="user", object_id=user.id)
        session.commit()
    click.echo(f"Password set for {user.email}; their sessions and reset links have ended.")


@click.command("verify-audit")
@with_appcontext
def verify_audit() -> None:
    """Recompute the audit hash chain and report the first broken row."""
    with _session() as session:
        result = audit.verify_chain(session)
    if not result.ok:
        raise click.ClickException(
            f"Audit chain broken at event {result.first_bad_id}: {result.problem} ({result.checked} checked)."
        )
    click.echo(f"Audit chain intact: {result.checked} events verified.")
