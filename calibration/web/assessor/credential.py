"""My certification's "Get your credential": the assessor's Open Badges credential (registered on
the assessor blueprint). Downloading and the public link are the public credential pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, url_for
from werkzeug.wrappers import Response

from ...services import credential_keys, credentials
from ...services.errors import InvalidInput
from ..boundary import attempt
from ..forms import ConfirmForm
from ..guards import actor
from .views import bp


@bp.post("/certification/credential")
def get_credential() -> Response:
    """Issue the assessor's credential if they are certified and have no valid one yet."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".certification"))
    me = actor()
    settings = credentials.IssuerSettings.from_config(current_app.config)
    outcome = attempt(
        lambda s: credentials.get_credential(s, me, settings),
        refuse=(InvalidInput, credential_keys.CredentialKeyError),
    )
    if outcome.ok:
        flash("Your credential is ready: download it or copy its public link below.", "info")
    elif isinstance(outcome.error, credential_keys.CredentialKeyError):
        flash("Your credential cannot be signed right now; please tell your lead trainer.", "error")
    else:
        flash(outcome.message, "error")
    return redirect(url_for(".certification") + "#credential-heading")
