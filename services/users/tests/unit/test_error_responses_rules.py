"""What every route documents about its errors in OpenAPI (``error_responses``).

The routers call ``error_responses`` once, when they are imported; these tests call it directly,
so they also hold for a change that the already built OpenAPI document would not show.
"""

from __future__ import annotations

import pytest

from app.api.errors import error_responses
from app.schemas.error import ErrorResponse


@pytest.mark.unit
class TestErrorResponses:
    def test_a_route_on_the_database_documents_413_500_and_503_besides_its_own(self) -> None:
        assert set(error_responses(401, 404)) == {401, 404, 413, 500, 503}

    def test_a_route_without_the_database_documents_413_and_500_only(self) -> None:
        assert set(error_responses(uses_database=False)) == {413, 500}

    @pytest.mark.parametrize("status", [401, 418, 503])
    def test_every_documented_error_has_the_error_body_and_a_description(self, status: int) -> None:
        documented = error_responses(status)[status]

        assert documented["model"] is ErrorResponse
        assert isinstance(documented["description"], str)
        assert documented["description"]
