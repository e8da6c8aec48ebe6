"""Use cases. Each takes a SQLAlchemy Session and plain values, flushes, never commits,
and raises :mod:`calibration.services.errors` exceptions that views map to messages.

A topic too large for one module is split along a seam: what pages read goes to a ``*_queries``
or ``*_view`` module, a self-contained sub-topic to a module named for it (``session_fields``,
``anchor_files``, ``drift_rules``, ...). The original module imports the parts back and lists them
in ``__all__``, so callers keep one place to import from. :mod:`~calibration.services.score_rows`
is the query kernel every statistics-reading service uses to get scores into numpy columns.
"""
