"""Web layer: blueprints split by audience, each guarded once, deny by default."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import (
        account,
        admin,
        api,
        api_tokens,
        assessor,
        auth,
        credentials,
        guards,
        imports,
        trainer,
        webhooks,
    )

    app.register_blueprint(auth.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(assessor.bp)
    app.register_blueprint(trainer.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(assessor.sessions_bp)
    app.register_blueprint(account.calendar_bp)
    app.register_blueprint(credentials.bp)
    app.register_blueprint(api_tokens.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(webhooks.bp)
    api.init_app(app)  # /api/v1: its own token guard, no CSRF
    guards.check_installed(app)  # a blueprint without its guard would be open to anyone
