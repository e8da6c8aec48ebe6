"""Use cases. Each takes a SQLAlchemy Session and plain values, flushes, never commits,
and raises :mod:`calibration.services.errors` exceptions that views map to messages."""
