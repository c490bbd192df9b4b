"""The guide's REST API (Option A and its Test section), with bearer tokens and JSON errors."""

from flask import abort, g, jsonify, request

from app.api import bp
from app.api.openapi import OPENAPI
from app.api.tokens import authenticate
from app.errors.responses import answers_in_json, envelope
from app.extensions import db
from app.models import Organization
from app.organizations.service import (
    NOT_FORCEABLE,
    ChangeRefused,
    clear_database_url,
    save_database_url,
    test_connection,
    visible_organizations,
)
from app.security import authenticates_itself, connectivity_test_limit, require_owner
from app.tenancy.hooks import serves_organizations
from app.tenancy.service import tenancy

answers_in_json(bp)
authenticates_itself(bp)
bp.before_request(authenticate)  # before the organization is loaded: it needs the token's admin
serves_organizations(bp)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def api_error(exc: ApiError):
    return envelope(exc.code, exc.message), exc.status


def organization_json(org: Organization) -> dict:
    target = tenancy().describe(org)
    return {
        "organizationId": org.id,
        "organizationName": org.name,
        "databaseUrl": f"postgresql://{target.masked}"
        if target.masked and not target.masked.startswith("sqlite")
        else (target.masked or None),
        "hasDedicatedDatabase": org.database_url is not None,
        # The dedicated database really serves it (ENABLE_MULTI_DATABASE on); the guide's fields stay as they are.
        "active": tenancy().uses_dedicated(org),
    }


def json_body(required: bool) -> dict:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser goes
        raise ApiError(400, "bad_request", "The body must be a JSON object.") from None
    if body is None:
        if required or request.get_data():
            raise ApiError(400, "bad_request", "The body must be a JSON object.")
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    return body


@bp.get("/openapi.json")
def openapi():
    return jsonify(OPENAPI)


@bp.get("/organizations")
def organizations():
    orgs = db.session.scalars(visible_organizations()).all()
    return jsonify(success=True, data=[organization_json(org) for org in orgs])


@bp.get("/organizations/<org_id>/database")
def get_database():
    return jsonify(success=True, data=organization_json(g.org))


@bp.put("/organizations/<org_id>/database")
@connectivity_test_limit
def put_database():
    body = json_body(required=True)
    if "databaseUrl" not in body or not (body["databaseUrl"] is None or isinstance(body["databaseUrl"], str)):
        raise ApiError(
            400, "bad_request", 'The body must be {"databaseUrl": "postgresql://..."} or {"databaseUrl": null}.'
        )
    force = body.get("force", False)
    if not isinstance(force, bool) or set(body) - {"databaseUrl", "force"}:
        raise ApiError(400, "bad_request", 'Only "databaseUrl" and "force" (true or false) are accepted.')
    require_owner()
    if body["databaseUrl"] is None:
        clear_database_url(g.org)
    else:
        try:
            save_database_url(g.org, body["databaseUrl"], force=force)
        except ChangeRefused as refused:
            raise ApiError(422, refused.probe.code, refused.probe.message) from None
    return jsonify(success=True, data=organization_json(g.org))


@bp.post("/organizations/<org_id>/database/test")
@connectivity_test_limit
def test_database():
    body = json_body(required=False)
    text = body.get("databaseUrl")
    if set(body) - {"databaseUrl"} or not (text is None or isinstance(text, str)):
        raise ApiError(400, "bad_request", 'The body may only hold {"databaseUrl": "postgresql://..."}.')
    if text:
        require_owner()
    probe = test_connection(g.org, text)
    if probe.code in NOT_FORCEABLE:  # the URL itself was rejected: no test ran
        raise ApiError(422, probe.code, probe.message)
    return jsonify(success=True, data=probe.as_json())


@bp.route("/<path:_rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def not_found(_rest):
    abort(404)
