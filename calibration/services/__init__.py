"""Use cases. Each takes a SQLAlchemy Session and plain values, flushes, never commits,
and raises :mod:`calibration.services.errors` exceptions that views map to messages.

A topic too large for one module is split along its seam, and the original module imports the
parts back (listing them in ``__all__``) so callers keep one place to import from:
``*_queries``/``*_view`` modules hold what pages read (look-ups and read models), the original
module the use cases that change state. :mod:`~calibration.services.score_rows` is the query
kernel every statistics-reading service uses to get scores into numpy columns.
"""
