"""The PostgreSQL role the server runs as: data privileges only, never ownership or DDL.

Migrations run as the *owner* role, which owns every table, trigger and function. The server
connects as a separate *app* role made by :func:`grant_app_role` (CLI ``create-app-role``), run
with the owner's URL. The app role can read and write rows, but it owns nothing, so it cannot
``ALTER TABLE ... DISABLE TRIGGER``, drop a trigger, add a column or ``TRUNCATE``, and it cannot
create objects in the schema. Append-only tables (those guarded by the immutability trigger) are
granted ``SELECT`` and ``INSERT`` only, so the database refuses a change twice: by privilege and
by trigger.

Default privileges make tables, sequences and functions that later migrations create (as the
same owner) usable by the app role at once; re-running the command after a migration narrows the
new append-only tables too. SQLite has no roles: any connection to the file can drop a trigger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from . import is_sqlite, make_engine

#: The trigger function of migration 0001: a table whose rows it guards is append-only.
IMMUTABILITY_FUNCTION = "calibration_forbid_change"

#: Append-only tables the app still locks rows of (``SELECT ... FOR UPDATE`` needs UPDATE privilege
#: on at least one column): UPDATE on that column alone; the immutability trigger refuses any update.
#: ``services/corrections.py`` locks a criterion score so concurrent corrections queue up.
ROW_LOCK_COLUMNS = {"criterion_score": "id"}

#: Tables the app only reads.
READ_ONLY_TABLES = frozenset({"alembic_version"})

INSUFFICIENT_PRIVILEGE = "42501"

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class AppRoleError(RuntimeError):
    """The app role cannot be set up as asked; nothing was changed."""


@dataclass(frozen=True)
class AppRoleGrants:
    """What :func:`grant_app_role` did: the role, whether it was created, and the grants by table."""

    role: str
    created: bool
    schema: str
    read_write: tuple[str, ...]
    append_only: tuple[str, ...]
    read_only: tuple[str, ...]


def grant_app_role(owner_url: str, role: str, password: str | None = None) -> AppRoleGrants:
    """Create or update the login role ``role`` with only the privileges the server needs.

    Run as the owner of the schema's tables (the role migrations run as). A new role needs a
    ``password`` (and the owner needs ``CREATEROLE``); for an existing role a password is changed
    only when given. Everything happens in one transaction: on any refusal nothing changes.
    """
    if is_sqlite(owner_url):
        raise AppRoleError("SQLite has no database roles: the file's permissions decide who may change it.")
    if not _ROLE_NAME.fullmatch(role):
        raise AppRoleError(
            "The role name must be 1 to 63 lower-case letters, digits or underscores, "
            "not starting with a digit."
        )
    engine = make_engine(owner_url)
    try:
        with engine.begin() as conn:
            return _grant(conn, role, password)
    finally:
        engine.dispose()


def _grant(conn: Connection, role: str, password: str | None) -> AppRoleGrants:
    owner, schema, database = conn.execute(
        text("SELECT current_user, current_schema(), current_database()")
    ).one()
    if role == owner:
        raise AppRoleError(
            f"{role!r} is the role this command connects as (the owner). "
            "The server's role must be a different one."
        )
    q_role, q_schema, q_database = (
        conn.execute(text("SELECT quote_ident(:v)"), {"v": v}).scalar_one() for v in (role, schema, database)
    )
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is not None
    secret = ""
    if password is not None:
        if not password:
            raise AppRoleError("The password must not be empty.")
        secret = " PASSWORD " + conn.execute(text("SELECT quote_literal(:p)"), {"p": password}).scalar_one()
    if not exists and password is None:
        raise AppRoleError(f"The role {role!r} does not exist yet: give it a password to create it.")
    try:
        if not exists:
            _ddl(
                conn, f"CREATE ROLE {q_role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION{secret}"
            )
        elif password is not None:
            _ddl(conn, f"ALTER ROLE {q_role} LOGIN{secret}")
    except Exception as exc:  # the driver's error: these statements go to it directly (see _ddl)
        if _sqlstate(exc) != INSUFFICIENT_PRIVILEGE:
            raise
        raise AppRoleError(
            f"The owner {owner!r} may not create or change roles. Either give it CREATEROLE, or have an "
            f"administrator run CREATE ROLE {q_role} LOGIN PASSWORD '...' and run this command again "
            "without a password."
        ) from exc

    tables, foreign = _tables(conn, schema, owner)
    if foreign:
        raise AppRoleError(
            f"Nothing was changed: {owner!r} does not own {', '.join(foreign)}. Run this command as the "
            "role that ran the migrations (the owner)."
        )
    append_only = _append_only_tables(conn, schema)
    # Start from nothing, so a re-run also takes away what an earlier version granted.
    _ddl(conn, f"REVOKE ALL ON ALL TABLES IN SCHEMA {q_schema} FROM {q_role}")
    _ddl(conn, f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q_schema} FROM {q_role}")
    _ddl(conn, f"REVOKE CREATE ON SCHEMA {q_schema} FROM {q_role}")
    _ddl(conn, f"GRANT CONNECT ON DATABASE {q_database} TO {q_role}")
    _ddl(conn, f"GRANT USAGE ON SCHEMA {q_schema} TO {q_role}")
    read_write, insert_only, read_only = [], [], []
    for table in tables:
        q_table = f"{q_schema}." + conn.execute(text("SELECT quote_ident(:t)"), {"t": table}).scalar_one()
        if table in READ_ONLY_TABLES:
            _ddl(conn, f"GRANT SELECT ON {q_table} TO {q_role}")
            read_only.append(table)
        elif table in append_only:
            _ddl(conn, f"GRANT SELECT, INSERT ON {q_table} TO {q_role}")
            if table in ROW_LOCK_COLUMNS:
                _ddl(conn, f"GRANT UPDATE ({ROW_LOCK_COLUMNS[table]}) ON {q_table} TO {q_role}")
            insert_only.append(table)
        else:
            _ddl(conn, f"GRANT SELECT, INSERT, UPDATE, DELETE ON {q_table} TO {q_role}")
            read_write.append(table)
    _ddl(conn, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q_schema} TO {q_role}")
    _ddl(conn, f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {q_schema} TO {q_role}")
    # Objects later migrations create as this owner are usable by the app role straight away.
    defaults = f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q_schema} GRANT"
    _ddl(conn, f"{defaults} SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q_role}")
    _ddl(conn, f"{defaults} USAGE, SELECT ON SEQUENCES TO {q_role}")
    _ddl(conn, f"{defaults} EXECUTE ON FUNCTIONS TO {q_role}")

    problems = _problems(conn, role, owner, schema)
    if problems:
        raise AppRoleError(
            f"Nothing was changed: the role {role!r} would still have more than the server needs. "
            + " ".join(problems)
        )
    return AppRoleGrants(
        role=role,
        created=not exists,
        schema=schema,
        read_write=tuple(read_write),
        append_only=tuple(insert_only),
        read_only=tuple(read_only),
    )


def _sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's error code, from the driver's error or SQLAlchemy's wrapper of it."""
    error: BaseException | None = exc.orig if isinstance(exc, DBAPIError) else exc
    return getattr(error, "sqlstate", None)


def _ddl(conn: Connection, statement: str) -> None:
    """Run a statement as written, in the connection's transaction.

    Role and grant statements take no bind parameters, so names and the password are quoted by
    the server (``quote_ident``/``quote_literal``) and the text goes to the driver untouched: a
    ``%`` or ``:`` in a password is not a placeholder.
    """
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _tables(conn: Connection, schema: str, owner: str) -> tuple[list[str], list[str]]:
    """Tables (and views) of the schema: those ``owner`` owns, and those it does not."""
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_userbyid(c.relowner) = :o FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname"
        ),
        {"s": schema, "o": owner},
    ).all()
    return [name for name, mine in rows if mine], [name for name, mine in rows if not mine]


def _append_only_tables(conn: Connection, schema: str) -> set[str]:
    """Tables with a trigger that runs the immutability function (migration 0001's)."""
    return set(
        conn.scalars(
            text(
                "SELECT DISTINCT c.relname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_proc p ON p.oid = t.tgfoid "
                "WHERE n.nspname = :s AND p.proname = :f AND NOT t.tgisinternal"
            ),
            {"s": schema, "f": IMMUTABILITY_FUNCTION},
        )
    )


def _problems(conn: Connection, role: str, owner: str, schema: str) -> list[str]:
    """What would still let the role change the schema or switch the triggers off."""
    attrs = conn.execute(
        text(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
            "pg_has_role(:r, :o, 'MEMBER') AS member_of_owner, "
            "has_schema_privilege(:r, :s, 'CREATE') AS can_create "
            "FROM pg_roles WHERE rolname = :r"
        ),
        {"r": role, "o": owner, "s": schema},
    ).one()
    problems = []
    powers = [
        name
        for name, on in (
            ("SUPERUSER", attrs.rolsuper),
            ("CREATEROLE", attrs.rolcreaterole),
            ("CREATEDB", attrs.rolcreatedb),
            ("REPLICATION", attrs.rolreplication),
            ("BYPASSRLS", attrs.rolbypassrls),
        )
        if on
    ]
    if powers:
        undo = " ".join(f"NO{p}" for p in powers)
        problems.append(f"It has {', '.join(powers)}: an administrator should run ALTER ROLE {role} {undo}.")
    if attrs.member_of_owner:
        problems.append(f"It is a member of the owner {owner!r}, so it can act as the owner: revoke that.")
    if attrs.can_create:
        problems.append(
            f"It may create objects in the schema {schema!r} (PostgreSQL 14 and older let everyone): "
            f"run REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC as the schema's owner."
        )
    owns = conn.scalar(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND pg_get_userbyid(c.relowner) = :r"
        ),
        {"s": schema, "r": role},
    )
    if owns:
        problems.append(f"It owns {owns} objects in the schema: ALTER ... OWNER TO the owner role.")
    return problems
