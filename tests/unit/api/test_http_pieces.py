"""Pure helpers of the HTTP layer: error messages, route labels, request ids (no I/O)."""

from __future__ import annotations

from typing import Any

from api.errors import describe_validation, error_response
from api.middleware import UNMATCHED, request_id_from, route_template


class FakeRoute:
    path = "/v1/customers/{customer_id}"


def test_validation_message_names_parameters_not_values() -> None:
    errors: list[dict[str, Any]] = [
        {"loc": ("query", "limit"), "msg": "Input should be less than or equal to 200"},
        {"loc": ("query", "value"), "msg": "Field required", "input": "+14155550100"},
    ]
    message = describe_validation(errors)
    assert message.startswith("query.limit: Input should be less than or equal to 200")
    assert "query.value: Field required" in message
    assert "+1415" not in message


def test_validation_message_is_bounded() -> None:
    errors = [{"loc": ("query", f"p{i}"), "msg": "bad"} for i in range(5)]
    assert describe_validation(errors).endswith("and 2 more")


def test_error_response_shape() -> None:
    response = error_response(404, "not_found", "customer not found", checks={"db": "ok"})
    assert response.status_code == 404
    assert response.body == (
        b'{"error":{"code":"not_found","message":"customer not found"},"checks":{"db":"ok"}}'
    )


def test_route_label_is_the_template_never_the_path() -> None:
    assert route_template({"route": FakeRoute(), "path": "/v1/customers/cus_1"}) == (
        "/v1/customers/{customer_id}"
    )
    assert route_template({"path": "/v1/customers/+14155550100"}) == UNMATCHED
    plain = {"endpoint": object(), "path_params": {}, "path": "/openapi.json"}
    assert route_template(plain) == "/openapi.json"
    with_params = {"endpoint": object(), "path_params": {"x": "1"}, "path": "/a/1"}
    assert route_template(with_params) == UNMATCHED


def test_request_id_is_echoed_only_when_safe() -> None:
    assert request_id_from({"headers": [(b"x-request-id", b"abc-123.X")]}) == "abc-123.X"
    unsafe = request_id_from({"headers": [(b"x-request-id", b"<script>\n")]})
    assert unsafe != "<script>\n" and len(unsafe) == 32
    assert request_id_from({"headers": []}) != request_id_from({"headers": []})


def test_read_models_serve_utc() -> None:
    from datetime import datetime, timedelta, timezone

    from profile_store.read.models import ChannelStats

    local = datetime(2026, 11, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    stats = ChannelStats(count=1, last_at=local)
    assert stats.model_dump(mode="json") == {"count": 1, "last_at": "2026-11-01T09:00:00Z"}
