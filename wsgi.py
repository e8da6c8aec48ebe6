"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``.

The app is warmed up before it takes requests (templates compiled, one chart of each kind drawn), so
the first request after a start is about as fast as a later one; see ``calibration/web/warmup.py``.
"""

from calibration import create_app
from calibration.web.warmup import warm_up

app = create_app()
warm_up(app)
