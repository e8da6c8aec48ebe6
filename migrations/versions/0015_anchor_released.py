"""Anchors released to the library, and a Reply-To on outgoing mail (issue 16, items 9 and 10).

``anchor.released_at``: when a lead trainer released the anchor to the certified assessors' library
(who did it is on the audit trail); from then on no round serves it. ``outgoing_mail.reply_to``: the address replies
go to (an invitation's replies reach the trainer who sent it).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import calibration.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite has both): a batch copy of ``anchor`` would have to drop a table
    # that other tables' rows point at.
    op.add_column("anchor", sa.Column("released_at", calibration.db.UTCDateTime(), nullable=True))
    op.add_column("outgoing_mail", sa.Column("reply_to", sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column("outgoing_mail", "reply_to")
    op.drop_column("anchor", "released_at")
