"""OpenAPI links (3.x Link Objects) in the served document: where an answer's id feeds another
operation the link says so, every link names a real operation and parameters it takes, and the
document with its links validates."""

from __future__ import annotations

import dataclasses

from calibration.web.api.spec import OPERATIONS, check_links, link


def _links(doc, path, method, status):  # type: ignore[no-untyped-def]
    return doc["paths"][path][method]["responses"][str(status)].get("links", {})


def test_the_document_with_its_links_validates(client):
    from openapi_spec_validator import validate

    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    declared = sum(
        len(r.get("links", {}))
        for item in doc["paths"].values()
        for op in item.values()
        for r in op["responses"].values()
    )
    assert declared >= 25


def test_created_things_link_to_their_operations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    imported = _links(doc, "/operational-ratings", "post", 202)
    assert imported["GetImport"] == {
        "operationId": "get_import",
        "parameters": {"import_id": "$response.body#/id"},
        "description": "The import's status, counts and first errors.",
    }
    for status in (201, 200):
        served = _links(doc, "/validity/assignments", "post", status)
        assert served["PostScores"]["operationId"] == "post_scores"
        assert served["PostScores"]["parameters"] == {"assignment_id": "$response.body#/assignment/id"}
        assert served["GetAssignment"]["operationId"] == "get_assignment"
    assert _links(doc, "/validity/assignments/{assignment_id}/scores", "post", 200)["GetAssignment"]
    endpoints = _links(doc, "/webhooks/endpoints", "get", 200)
    assert endpoints["ListItsDeliveries"] == {
        "operationId": "list_webhook_deliveries",
        "parameters": {"endpoint_id": "$response.body#/items/0/id"},
    }
    assert _links(doc, "/webhooks/endpoints/{endpoint_id}", "get", 200)["ListItsDeliveries"]
    assert _links(doc, "/webhooks/deliveries", "get", 200)["GetWebhookDelivery"]
    assert _links(doc, "/rounds", "get", 200)["GetRound"]["parameters"] == {
        "round_id": "$response.body#/items/0/id"
    }
    assert _links(doc, "/flags", "get", 200)["GetFlag"]["operationId"] == "get_flag"
    assert _links(doc, "/rounds/{round_id}/sheets", "get", 200)["GetSheet"]
    # links hang on successes only
    assert "links" not in doc["paths"]["/rounds"]["get"]["responses"]["404"]


def test_every_declared_link_is_sound():
    assert check_links(OPERATIONS) == []


def test_a_link_to_nothing_is_caught():
    source = next(op for op in OPERATIONS if op.operation_id == "list_rounds")
    broken = [
        dataclasses.replace(
            source, links=(link("Gone", "no_such_operation", round_id="$response.body#/id"),)
        ),
        dataclasses.replace(
            source, operation_id="x", links=(link("Bad", "get_round", nope="$response.body#/id"),)
        ),
        dataclasses.replace(
            source,
            operation_id="y",
            links=(link("Odd", "get_round", status=201, round_id="$response.body#/id"),),
        ),
        *(dataclasses.replace(op, links=()) for op in OPERATIONS if op.operation_id == "get_round"),
    ]
    wrong = check_links(broken)
    assert len(wrong) == 3 and "no_such_operation" in wrong[0] and "nope" in wrong[1] and "201" in wrong[2]


def test_link_targets_get_one_flag_and_one_assignment(client, world, db):
    """The two reads added as link targets answer the listed item, and 404 outside the program."""
    from ..factories_validity import fresh_anchors, set_validity_rules
    from .helpers import bearer, make_flag, make_token, posting

    ours, theirs = make_flag(db, world), make_flag(db, world, program="b")
    token = make_token(db, world, ["read"])
    listed = client.get("/api/v1/flags", headers=bearer(token)).get_json()["items"]
    one = client.get(f"/api/v1/flags/{ours}", headers=bearer(token))
    assert one.status_code == 200 and one.headers["ETag"]
    assert [one.get_json()] == listed
    assert client.get(f"/api/v1/flags/{theirs}", headers=bearer(token)).status_code == 404

    fresh_anchors(db, world, 1)
    set_validity_rules(db, world.program_a, live_items_between=0)
    validity = make_token(db, world, ["validity"])
    served = client.post(
        "/api/v1/validity/assignments",
        json={"assessor": "assessor@a.test", "external_ref": "q-1"},
        headers=posting(validity),
    ).get_json()["assignment"]
    got = client.get(f"/api/v1/validity/assignments/{served['id']}", headers=bearer(validity))
    assert got.status_code == 200 and got.get_json() == served
    assert client.get("/api/v1/validity/assignments", headers=bearer(validity)).get_json()["items"] == [
        served
    ]
    assert (
        client.get(f"/api/v1/validity/assignments/{served['id']}", headers=bearer(token)).status_code == 403
    )
    assert (
        client.get(f"/api/v1/validity/assignments/{served['id'] + 1}", headers=bearer(validity)).status_code
        == 404
    )
