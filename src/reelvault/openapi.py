"""Complete the generated OpenAPI document with the error answers the contract defines.

Litestar documents a 400 for every handler that validates input, but the contract answers 422;
and the errors raised by our domain layer (401, 403, 404, 409, 413, 415, 500) are not visible to
its generator. One pass over the document fixes both, so generated clients and schemathesis see
every status code the API can return. This is the one place error answers are documented:
handlers declare only their successful answers.
"""

from __future__ import annotations

from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Schema
from litestar.openapi.spec.enums import OpenAPIType

ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["status_code", "detail"],
    properties={
        "status_code": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        # Present on validation errors: one object per offending value (message, key, source).
        "extra": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.OBJECT, additional_properties=Schema()),
        ),
    },
    description="An error: `detail` is a sentence a person can read",
)

PUBLIC = {"/api/auth/login", "/api/auth/register"}
WORKER_KEY_REFUSED = "Missing, unknown or revoked worker key (a user's token is refused here)"
LEASE_LOST = "The lease is no longer valid: it ran out, or another claim replaced it"
JOB_DELETED = "The owner deleted the generation: stop working on it"
EXTRA_ERRORS: dict[tuple[str, str], dict[int, str]] = {
    ("post", "/api/auth/register"): {
        403: "Registration is closed, or the request comes from another origin",
        409: "An account with this e-mail already exists",
        415: "The body is not application/json",
        503: "Too many sign-ins at once; try again in a moment",
    },
    ("post", "/api/auth/login"): {
        401: "Incorrect e-mail or password",
        403: "The request comes from another origin",
        415: "The body is not application/json",
        429: "Too many wrong passwords for this account from this address (see Retry-After)",
        503: "Too many sign-ins at once; try again in a moment",
    },
    ("post", "/api/auth/password"): {
        401: "Missing, invalid or expired token, or the current password is incorrect",
        415: "The body is not application/json",
        429: "Too many wrong passwords for this account from this address (see Retry-After)",
        503: "Too many sign-ins at once; try again in a moment",
    },
    ("post", "/api/generations"): {
        400: "The body is not valid JSON, or a malformed multipart/form-data upload",
        408: "The body stopped arriving (nothing for REELVAULT_UPLOAD_IDLE_SECONDS)",
        413: "The file is larger than the maximum upload size or the storage quota leaves",
        415: "The body is neither application/json nor multipart/form-data, or the file is "
        "not a playable video",
        429: "Too many uploads of this account at once; see Retry-After",
    },
    ("post", "/api/worker/claim"): {
        401: WORKER_KEY_REFUSED,
        415: "The body is not application/json",
    },
    ("post", "/api/worker/jobs/{generation_id}/heartbeat"): {
        401: WORKER_KEY_REFUSED,
        409: LEASE_LOST,
        410: JOB_DELETED,
        415: "The body is not application/json",
    },
    ("post", "/api/worker/jobs/{generation_id}/complete"): {
        400: "The body is not a multipart/form-data upload",
        401: WORKER_KEY_REFUSED,
        408: "The body stopped arriving (nothing for REELVAULT_UPLOAD_IDLE_SECONDS)",
        409: LEASE_LOST,
        410: JOB_DELETED,
        413: "The file is larger than the maximum upload size or the owner's quota leaves",
        415: "The file is not a playable video (the job stays processing under its lease)",
    },
    ("post", "/api/worker/jobs/{generation_id}/fail"): {
        401: WORKER_KEY_REFUSED,
        409: LEASE_LOST,
        410: JOB_DELETED,
        415: "The body is not application/json",
    },
    ("delete", "/api/auth/me"): {
        401: "Missing, invalid or expired token, or the password is incorrect",
        415: "The body is not application/json",
        429: "Too many wrong passwords for this account from this address (see Retry-After)",
        500: "The account could not be deleted; nothing was changed",
        503: "Too many sign-ins at once; try again in a moment",
    },
    ("delete", "/api/generations/{generation_id}"): {
        403: "The video belongs to someone else",
        500: "The video could not be deleted; nothing was changed",
    },
    ("get", "/api/video/{generation_id}"): {
        400: "Video not ready",
        412: "Precondition failed (If-Match or If-Unmodified-Since)",
        416: "Range not satisfiable",
    },
    ("head", "/api/video/{generation_id}"): {
        400: "Video not ready",
        412: "Precondition failed (If-Match or If-Unmodified-Since)",
        416: "Range not satisfiable",
    },
    ("get", "/api/thumbnail/{generation_id}"): {404: "Thumbnail not found"},
    ("get", "/api/storyboard/{generation_id}"): {404: "Storyboard not found (or not made yet)"},
    ("get", "/api/storyboard/{generation_id}/sprite.jpg"): {404: "Storyboard not found"},
    ("get", "/api/generations/events"): {
        503: "Live updates are unavailable for a moment (see Retry-After)",
    },
    ("get", "/health/ready"): {503: "The database or the media directory is unavailable"},
}


def error_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={"application/json": OpenAPIMediaType(schema=ERROR_SCHEMA)},
    )


def document_errors(document: OpenAPI) -> OpenAPI:
    for path, item in (document.paths or {}).items():
        for method in ("get", "head", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            operation.responses = responses
            validation = responses.pop("400", None)
            declared = [code for code in responses if code[0] in "45"]
            if declared:
                raise ValueError(
                    f"{method.upper()} {path} documents {declared} itself: error answers are "
                    "documented only here, in EXTRA_ERRORS"
                )
            for status, description in EXTRA_ERRORS.get((method, path), {}).items():
                responses[str(status)] = error_response(description)
            if not path.startswith("/api/"):
                continue
            if validation is not None or operation.parameters or operation.request_body:
                responses["422"] = error_response("Validation failed: a value breaks the contract")
            body = operation.request_body
            if body is not None and "application/json" in (getattr(body, "content", None) or {}):
                responses["400"] = error_response("The body is not valid JSON")
            if path not in PUBLIC:
                responses.setdefault("401", error_response("Missing, invalid or expired token"))
                # Worker calls carry a key, never the cookie: the origin rule cannot refuse them.
                if method in ("post", "delete") and not path.startswith("/api/worker/"):
                    responses.setdefault(
                        "403", error_response("Cookie-authenticated request from another origin")
                    )
            if "{generation_id}" in path:
                responses.setdefault("404", error_response("Video not found"))
    return document
