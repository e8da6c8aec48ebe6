"""Credential commands: ``credential-key`` (make or rotate a program's signing key) and
``verify-credential FILE`` (check a credential's proof, dates and status, offline)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import get_db, utcnow, write_intent
from ..models import Program
from ..services import credential_keys, credential_verify
from ..services.context import SystemActor
from ..services.errors import InvalidInput


def _settings() -> credential_keys.IssuerSettings:
    return credential_keys.IssuerSettings.from_config(current_app.config)


@click.command("credential-key")
@with_appcontext
@click.option("--program", "program_slug", required=True, help="Program slug whose issuer key to make.")
@click.option(
    "--rotate", is_flag=True, help="Retire the current key (it stays published) and make a new one."
)
@click.option(
    "--old-key-lost",
    is_flag=True,
    help="With --rotate: the CREDENTIAL_KEY the current key was stored with is lost for good.",
)
def credential_key(program_slug: str, rotate: bool, old_key_lost: bool) -> None:
    """Make the program's credential signing key (once), or rotate it with --rotate (audited)."""
    settings = _settings()
    with write_intent(), get_db().sessionmaker() as session:
        program = session.scalar(select(Program).where(Program.slug == program_slug))
        if program is None:
            raise click.ClickException(f"No program with slug {program_slug!r}.")
        actor = SystemActor(program.id)
        try:
            if rotate:
                key = credential_keys.rotate_key(
                    session, actor, settings, program.id, old_key_lost=old_key_lost
                )
            else:
                had = credential_keys.current_key(session, program.id)
                key = credential_keys.ensure_key(session, actor, settings, program.id)
                if had is not None:
                    click.echo(
                        f"The program already has a key: {settings.verification_method(program.slug, key)}"
                    )
                    return
        except credential_keys.CredentialKeyError as exc:
            raise click.ClickException(str(exc)) from exc
        session.commit()
        method = settings.verification_method(program.slug, key)
    click.echo(("Rotated; new key: " if rotate else "Key made: ") + method)
    click.echo(f"Published in the issuer profile {settings.issuer_id(program_slug)} (older keys stay there).")


@click.command("verify-credential")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_credential(file: Path) -> None:
    """Check a credential file: its proof, its dates and its status (exits non-zero unless valid)."""
    with file.open("rb") as handle:
        raw = handle.read(credential_verify.MAX_BYTES + 1)
    try:
        document = credential_verify.parse(raw)
    except InvalidInput as exc:
        raise click.ClickException(str(exc)) from exc
    with get_db().sessionmaker() as session:
        try:
            verdict = credential_verify.verify(session, _settings(), document, now=utcnow())
        except credential_keys.CredentialKeyError as exc:
            raise click.ClickException(f"The status cannot be checked: {exc}") from exc
    if verdict.name:
        click.echo(f"Credential: {verdict.name}" + (f" ({verdict.issuer})" if verdict.issuer else ""))
    for line in verdict.checks:
        click.echo(f"  ok: {line}")
    for line in verdict.reasons:
        click.echo(f"  no: {line}")
    if not verdict.ok:
        raise click.ClickException(f"The credential is {verdict.state}.")
    click.echo("The credential is valid.")
