"""Public credential pages: readable without login, revealing nothing beyond the credential itself.

``/credentials/issuers/<slug>`` (the issuer's ``Profile`` with its keys), ``/credentials/status/<slug>``
(its signed status list), ``/credentials/<id>`` (what a credential asserts and whether it verifies
now), ``/credentials/<id>.json`` (the credential) and ``/credentials/verify`` (check a file).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response

from ...db import get_session, utcnow
from ...services import credential_keys, credential_verify, credentials
from ...services.context import SystemActor
from ..guards import require_login

bp = Blueprint("credentials", __name__, url_prefix="/credentials")
PUBLIC_ENDPOINTS = frozenset(
    {
        "credentials.issuer",
        "credentials.status_list",
        "credentials.page",
        "credentials.document",
        "credentials.verify",
    }
)
bp.before_request(require_login(public=PUBLIC_ENDPOINTS))


@bp.errorhandler(credential_keys.CredentialKeyError)
def _cannot_sign(err: credential_keys.CredentialKeyError) -> tuple[str, int]:
    """The issuer's key cannot be used (CREDENTIAL_KEY is not the one it was stored with): say so."""
    current_app.logger.error("credential key unusable: %s", err)
    message = (
        "Credentials cannot be checked right now: the issuer's signing key is unavailable. Try again later."
    )
    return render_template("errors/error.html", code=503, title="Service unavailable", message=message), 503


@bp.after_request
def _revalidate(response: Response) -> Response:
    """Whether a credential verifies can change at any moment (a suspension): caches must ask again."""
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


JSON_LD = "application/ld+json"


class VerifyForm(FlaskForm):
    file = FileField("Credential file (JSON)")


def _settings() -> credential_keys.IssuerSettings:
    return credential_keys.IssuerSettings.from_config(current_app.config)


def _json(document: dict[str, Any], *, download: str | None = None) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype=JSON_LD)
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers elsewhere read these documents
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return response


@bp.get("/issuers/<slug>")
def issuer(slug: str) -> Response:
    """The program's issuer ``Profile``: name, url, description and every key it signs with."""
    db_session = get_session()
    program = credentials.program_by_slug(db_session, slug)
    return _json(credential_keys.issuer_profile(db_session, _settings(), program))


@bp.get("/status/<slug>")
def status_list(slug: str) -> Response:
    """The program's ``BitstringStatusListCredential``, signed as it stands now."""
    db_session = get_session()
    program = credentials.program_by_slug(db_session, slug)
    document = credentials.status_list(db_session, SystemActor(program.id), _settings(), program)
    return _json(document)


@bp.get("/<public_id>.json")
def document(public_id: str) -> Response:
    """The credential as issued (``?download=1``: as a file to keep)."""
    found = credentials.find_public(get_session(), public_id)
    name = f"assessor-credential-{public_id}.json" if request.args.get("download") else None
    return _json(found.document, download=name)


@bp.get("/<public_id>")
def page(public_id: str) -> str | Response:
    """What the credential asserts and whether it verifies now (valid, expired or revoked); a
    client asking for JSON(-LD) at the credential's id gets the credential itself."""
    db_session = get_session()
    found = credentials.find_public(db_session, public_id)
    if request.accept_mimetypes.best_match(["text/html", JSON_LD, "application/json"]) in (
        JSON_LD,
        "application/json",
    ):
        return _json(found.document)
    verdict = credential_verify.verify(db_session, _settings(), found.document, now=utcnow())
    return render_template(
        "credentials/page.html", c=credentials.describe(found.document), verdict=verdict, public_id=public_id
    )


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> str | tuple[str, int]:
    """Check a credential file: its proof, its dates and its status (400 for a file that is not one)."""
    form = VerifyForm()
    if request.method == "GET":
        return render_template("credentials/verify.html", form=form, verdict=None, problem=None)
    if not form.validate_on_submit():
        return render_template(
            "credentials/verify.html", form=form, verdict=None, problem=_form_problem(form)
        ), 400
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        return _refused(form, "Choose a credential file (JSON) to check.")
    raw = upload.stream.read(credential_verify.MAX_BYTES + 1)
    document_, problem = credential_verify.read_file(raw)
    if document_ is None:
        return _refused(form, problem or "The file is not a credential.")
    verdict = credential_verify.verify(get_session(), _settings(), document_, now=utcnow())
    return render_template("credentials/verify.html", form=form, verdict=verdict, problem=None)


def _refused(form: VerifyForm, problem: str) -> tuple[str, int]:
    """The form again with the reason beside the file field: 400, nothing checked or stored."""
    form.file.errors = [problem]
    return render_template("credentials/verify.html", form=form, verdict=None, problem=problem), 400


def _form_problem(form: FlaskForm) -> str:
    if "csrf_token" in form.errors:
        return "The form had expired; choose the file again and check it."
    return "The form could not be read; choose the file again."
