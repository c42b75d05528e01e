"""The published OpenAPI document: every route documents its responses, errors with a stable code."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from app.schemas.common import MAX_INT_ID

ERROR_REF = "#/components/schemas/ErrorResponse"
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
#: Routes that never touch the database (so never answer 503 because of it).
NO_DATABASE = {("get", "/api/v1/health/live"), ("get", "/api/v1/health/ready")}
#: The readiness probe answers 503 with its own body, listing which check failed.
OWN_503_BODY = {("get", "/api/v1/health/ready"): "#/components/schemas/ReadinessResponse"}

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture
async def spec(client: AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(spec: dict[str, Any]) -> list[Operation]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def schema_ref(response: dict[str, Any]) -> str | None:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref")
    return str(ref) if ref is not None else None


@pytest.mark.integration
class TestOpenApi:
    def test_error_response_schema_has_a_required_code(self, spec: dict[str, Any]) -> None:
        schema = spec["components"]["schemas"]["ErrorResponse"]

        assert {"detail", "code", "request_id", "errors"} <= set(schema["properties"])
        assert {"detail", "code"} <= set(schema["required"])

    def test_documents_every_route_of_the_api(self, spec: dict[str, Any]) -> None:
        documented = {(method, path) for method, path, _ in operations(spec)}

        assert {
            ("post", "/api/v1/users"),
            ("get", "/api/v1/users/me"),
            ("post", "/api/v1/users/me/password"),
            ("delete", "/api/v1/users/me"),
            ("get", "/api/v1/users/{user_id}"),
            ("patch", "/api/v1/users/{user_id}"),
            ("get", "/api/v1/users/{user_id}/posts"),
            ("post", "/api/v1/auth/login"),
            ("post", "/api/v1/auth/refresh"),
            ("post", "/api/v1/auth/logout"),
            ("post", "/api/v1/auth/verify-email"),
            ("post", "/api/v1/auth/request-verification"),
            ("post", "/api/v1/auth/forgot-password"),
            ("post", "/api/v1/auth/reset-password"),
            ("post", "/api/v1/posts"),
            ("get", "/api/v1/posts"),
            ("get", "/api/v1/posts/{post_id}"),
            ("patch", "/api/v1/posts/{post_id}"),
            ("delete", "/api/v1/posts/{post_id}"),
            ("post", "/api/v1/send-notification"),
            ("get", "/api/v1/admin/users"),
            ("patch", "/api/v1/admin/users/{user_id}"),
            ("get", "/api/v1/health/live"),
            ("get", "/api/v1/health/ready"),
        } <= documented

    def test_every_error_status_uses_the_error_body(self, spec: dict[str, Any]) -> None:
        wrong = [
            (method, path, status, schema_ref(response))
            for method, path, operation in operations(spec)
            for status, response in operation["responses"].items()
            if int(status) >= 400
            and schema_ref(response) != ERROR_REF
            and not (status == "503" and OWN_503_BODY.get((method, path)) == schema_ref(response))
        ]

        assert wrong == []

    def test_the_framework_validation_body_is_never_advertised(self, spec: dict[str, Any]) -> None:
        schemas = spec["components"]["schemas"]

        assert "HTTPValidationError" not in schemas
        assert "ValidationError" not in schemas

    def test_every_route_documents_413_and_500(self, spec: dict[str, Any]) -> None:
        missing = [
            (method, path, status)
            for method, path, operation in operations(spec)
            for status in ("413", "500")
            if status not in operation["responses"]
        ]

        assert missing == []

    def test_every_database_route_documents_503(self, spec: dict[str, Any]) -> None:
        missing = [
            (method, path)
            for method, path, operation in operations(spec)
            if (method, path) not in NO_DATABASE and "503" not in operation["responses"]
        ]

        assert missing == []

    def test_readiness_documents_its_503_body(self, spec: dict[str, Any]) -> None:
        responses = spec["paths"]["/api/v1/health/ready"]["get"]["responses"]

        assert schema_ref(responses["503"]) == "#/components/schemas/ReadinessResponse"

    def test_every_route_with_input_documents_422(self, spec: dict[str, Any]) -> None:
        missing = [
            (method, path)
            for method, path, operation in operations(spec)
            if (operation.get("parameters") or "requestBody" in operation) and "422" not in operation["responses"]
        ]

        assert missing == []

    def test_every_route_with_a_body_documents_400(self, spec: dict[str, Any]) -> None:
        # A body that is not UTF-8 cannot be parsed at all: FastAPI answers 400, not 422.
        missing = [
            (method, path)
            for method, path, operation in operations(spec)
            if "requestBody" in operation and "400" not in operation["responses"]
        ]

        assert missing == []

    def test_path_ids_document_their_bounds(self, spec: dict[str, Any]) -> None:
        # As JSON Schema keywords: ``ge``/``le`` (what a misplaced ``Path`` produces) bound nothing.
        bounds = {
            (path, parameter["name"]): (parameter["schema"].get("minimum"), parameter["schema"].get("maximum"))
            for _, path, operation in operations(spec)
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "path"
        }

        assert bounds
        assert set(bounds.values()) == {(1, MAX_INT_ID)}

    def test_an_optional_bearer_token_is_documented_as_optional(self, spec: dict[str, Any]) -> None:
        optional = {
            (method, path)
            for method, path, operation in operations(spec)
            if operation.get("security") == [{"HTTPBearer": []}, {}]
        }

        assert optional == {("get", "/api/v1/posts/{post_id}"), ("get", "/api/v1/users/{user_id}/posts")}

    def test_post_update_fields_are_optional_but_never_null(self, spec: dict[str, Any]) -> None:
        schema = spec["components"]["schemas"]["PostUpdate"]

        assert schema["minProperties"] == 1
        assert "required" not in schema
        assert {name: property_.get("type") for name, property_ in schema["properties"].items()} == {
            "title": "string",
            "content": "string",
            "published": "boolean",
        }
        assert [name for name, property_ in schema["properties"].items() if "default" in property_] == []

    def test_every_route_with_a_bearer_token_documents_401(self, spec: dict[str, Any]) -> None:
        secured = [
            (method, path, operation) for method, path, operation in operations(spec) if operation.get("security")
        ]

        assert secured
        assert [(method, path) for method, path, operation in secured if "401" not in operation["responses"]] == []

    @pytest.mark.parametrize(
        ("method", "path", "statuses"),
        [
            ("post", "/api/v1/users", {"201", "400", "409", "422", "429"}),
            ("get", "/api/v1/users/{user_id}", {"200", "404", "422"}),
            ("get", "/api/v1/users/me", {"200", "401"}),
            ("post", "/api/v1/users/me/password", {"200", "400", "401", "403", "422", "429"}),
            ("delete", "/api/v1/users/me", {"204", "400", "401", "403", "422", "429"}),
            ("patch", "/api/v1/users/{user_id}", {"200", "400", "401", "403", "409", "422", "429"}),
            ("get", "/api/v1/users/{user_id}/posts", {"200", "404", "422"}),
            ("post", "/api/v1/auth/login", {"200", "400", "401", "403", "422", "429"}),
            ("post", "/api/v1/auth/refresh", {"200", "400", "401", "422", "429"}),
            ("post", "/api/v1/auth/logout", {"200", "400", "401", "422"}),
            ("post", "/api/v1/auth/verify-email", {"200", "400", "422"}),
            ("post", "/api/v1/auth/request-verification", {"202", "401", "409", "429"}),
            ("post", "/api/v1/auth/forgot-password", {"202", "400", "422", "429"}),
            ("post", "/api/v1/auth/reset-password", {"200", "400", "422", "429"}),
            ("post", "/api/v1/posts", {"201", "400", "401", "422"}),
            ("get", "/api/v1/posts", {"200", "422"}),
            ("get", "/api/v1/posts/{post_id}", {"200", "404", "422"}),
            ("patch", "/api/v1/posts/{post_id}", {"200", "400", "401", "403", "404", "422"}),
            ("delete", "/api/v1/posts/{post_id}", {"204", "401", "403", "404", "422"}),
            ("post", "/api/v1/send-notification", {"200", "400", "401", "422"}),
            ("get", "/api/v1/admin/users", {"200", "401", "403", "422"}),
            ("patch", "/api/v1/admin/users/{user_id}", {"200", "400", "401", "403", "404", "409", "422"}),
            ("get", "/api/v1/health/ready", {"200", "503"}),
        ],
    )
    def test_route_documents_its_statuses(
        self, spec: dict[str, Any], method: str, path: str, statuses: set[str]
    ) -> None:
        documented = set(spec["paths"][path][method]["responses"])

        assert statuses <= documented
        success = {status for status in documented if status.startswith("2")}
        assert success == {status for status in statuses if status.startswith("2")}

    def test_successful_responses_never_expose_a_password_field(self, spec: dict[str, Any]) -> None:
        leaking = [
            name
            for name, schema in spec["components"]["schemas"].items()
            if name.endswith("Response") and {"password", "hashed_password"} & set(schema.get("properties", {}))
        ]

        assert leaking == []
