"""The OpenAPI 3.1 description of /api, kept true by tests that validate live responses."""

ERROR = {
    "type": "object",
    "required": ["success", "error"],
    "additionalProperties": False,
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
ORGANIZATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["organizationId", "organizationName", "databaseUrl", "hasDedicatedDatabase", "active"],
    "properties": {
        "organizationId": {"type": "string"},
        "organizationName": {"type": "string"},
        "databaseUrl": {"type": ["string", "null"], "description": "Masked: never the password."},
        "hasDedicatedDatabase": {"type": "boolean"},
        "active": {
            "type": "boolean",
            "description": "The dedicated database really serves it (ENABLE_MULTI_DATABASE on).",
        },
    },
}
TEST_RESULT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ok", "code", "message", "latencyMs", "serverVersion", "schemaRevision", "pooler"],
    "properties": {
        "ok": {"type": "boolean"},
        "code": {
            "enum": [
                "ok",
                "invalid_url",
                "forbidden_target",
                "dns_failure",
                "refused",
                "timeout",
                "ssl_failed",
                "auth_failed",
                "database_missing",
                "schema_missing",
                "schema_behind",
                "schema_ahead",
                "schema_drift",
                "permission_denied",
                "unknown",
            ]
        },
        "message": {"type": "string"},
        "latencyMs": {"type": ["number", "null"]},
        "serverVersion": {"type": ["string", "null"]},
        "schemaRevision": {"type": ["string", "null"]},
        "pooler": {"type": "boolean", "description": "Reached through a transaction-mode pooler (?pgbouncer=true)."},
    },
}


def envelope(data: dict) -> dict:
    return {
        "type": "object",
        "required": ["success", "data"],
        "additionalProperties": False,
        "properties": {"success": {"const": True}, "data": data},
    }


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict:
    text = {
        400: "Body is not JSON or of the wrong shape",
        401: "Missing or invalid token",
        403: "A viewer tried to write",
        404: "Organization not found (unknown or out of scope)",
        422: "Invalid URL, or its connectivity test failed",
        429: "Rate limited",
    }
    return {str(code): response(text[code], ref("Error")) for code in codes}


ORG_ID = {"name": "org_id", "in": "path", "required": True, "schema": {"type": "string"}}
URL_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"databaseUrl": {"type": ["string", "null"]}, "force": {"type": "boolean"}},
}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "Tenant database console API",
        "version": "1.0.0",
        "description": "The multi-database guide's organization database API. Bearer tokens come from "
        "`flask --app wsgi create-token EMAIL`.",
    },
    "servers": [{"url": "/"}],
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": ERROR,
            "Organization": ORGANIZATION,
            "TestResult": TEST_RESULT,
            "OrganizationResponse": envelope(ref("Organization")),
            "OrganizationList": envelope({"type": "array", "items": ref("Organization")}),
            "TestResponse": envelope(ref("TestResult")),
        },
    },
    "paths": {
        "/api/organizations": {
            "get": {
                "summary": "Every organization the token's admin may see",
                "responses": {"200": response("The organizations", ref("OrganizationList")), **errors(401)},
            }
        },
        "/api/organizations/{org_id}/database": {
            "parameters": [ORG_ID],
            "get": {
                "summary": "Where an organization's data lives",
                "responses": {
                    "200": response("The organization's database", ref("OrganizationResponse")),
                    **errors(401, 404),
                },
            },
            "put": {
                "summary": "Set a dedicated database URL (tested first), or null for shared mode",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {**URL_BODY, "required": ["databaseUrl"]}}},
                },
                "responses": {
                    "200": response("Saved", ref("OrganizationResponse")),
                    **errors(400, 401, 403, 404, 422, 429),
                },
            },
        },
        "/api/organizations/{org_id}/database/test": {
            "parameters": [ORG_ID],
            "post": {
                "summary": "Test a URL without saving it, or the stored one when none is given",
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"databaseUrl": {"type": ["string", "null"]}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": response("The test ran", ref("TestResponse")),
                    **errors(400, 401, 403, 404, 422, 429),
                },
            },
        },
    },
}
