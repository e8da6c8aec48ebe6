"""The app a test worker process runs (``flask --app tests.jobs.worker_app worker``): the real app,
with the test handlers registered."""

from calibration import create_app
from tests.jobs import helpers  # noqa: F401 - registers the test handlers

app = create_app()
