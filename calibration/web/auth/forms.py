"""Forms for signing in and out (shape only: :mod:`calibration.services.auth` checks the rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from ..forms import no_control_characters


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[InputRequired("Enter your email."), Length(max=254), no_control_characters]
    )
    password = PasswordField("Password", validators=[InputRequired("Enter your password."), Length(max=1024)])


class LogoutForm(FlaskForm):
    """Only the CSRF token: signing out is a state change."""
