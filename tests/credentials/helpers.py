"""Getting an assessor certified the way the product does it, and reading what was issued."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from calibration.models import CertificationStatus, IssuedCredential, Membership, Program, Role
from calibration.notify import dispatch
from calibration.services import certification, events, training
from calibration.services.context import Member, SystemActor
from calibration.services.rounds import current_keys
from calibration.services.scoring import submit_sheet

from ..factories import make_user
from ..factories_onboarding import anchors_of, qualification_pool
from .conftest import BASE

POLICY = certification.Policy()
EMAIL = "learner@a.test"


def newcomer(db: Any, world: Any, email: str = EMAIL) -> int:
    program = db.get(Program, world.program_a)
    user = make_user(db, program, email, Role.ASSESSOR, "Lee Learner")
    m = db.scalar(select(Membership).where(Membership.user_id == user.id))
    m.certification_status = CertificationStatus.IN_TRAINING
    db.commit()
    return int(user.id)


def finish_transaction(app: Any, db: Any) -> None:
    """What the boundary does before it commits: the events become their effects, then commit."""
    with app.app_context():
        dispatch.queue_for(db, events.take(db))
    db.commit()


def certify(app: Any, db: Any, world: Any) -> int:
    """A newcomer passes a qualification round (every score on the key); returns their user id."""
    qualification_pool(db, world, sets=2)
    uid = newcomer(db, world)
    rnd = training.assign_qualification_round(
        db, SystemActor(world.program_a), program_id=world.program_a, user_id=uid, window=POLICY.window
    )
    db.commit()
    ids = anchors_of(db, rnd.id)
    keys = current_keys(db, ids)
    for anchor_id in ids:
        key = keys[anchor_id][1]
        submit_sheet(
            db,
            Member(uid, world.program_a, Role.ASSESSOR),
            round_id=rnd.id,
            anchor_id=anchor_id,
            levels={c: key[c] for c in world.criteria},
            notes="",
        )
        certification.after_sheet(db, program_id=world.program_a, user_id=uid, round_id=rnd.id, policy=POLICY)
    finish_transaction(app, db)
    return uid


def issued(db: Any, uid: int) -> list[IssuedCredential]:
    db.rollback()
    return list(
        db.scalars(
            select(IssuedCredential).where(IssuedCredential.user_id == uid).order_by(IssuedCredential.id)
        )
    )


def path_of(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url[len(BASE) :]


def fetch(client: Any, url: str) -> Any:
    resp = client.get(path_of(url), headers={"Accept": "application/ld+json"})
    assert resp.status_code == 200, (url, resp.status_code)
    return json.loads(resp.get_data(as_text=True))
