"""POST /v1/search with a JSON body answers exactly like GET ?q=&k=, and rejects bad bodies with the error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api import create_app
from tests.fakes.fake_service import make_fake_service


@pytest.fixture()
def client(make_settings):
    return TestClient(create_app(make_fake_service(), make_settings()))


def test_post_search_equals_get(client):
    posted = client.post("/v1/search", json={"q": "حفتر", "k": 2})
    assert posted.status_code == 200, posted.text
    body = posted.json()
    assert body["query"] == "حفتر" and body["hits"][0]["chunk"]["doc_id"] == "doc0"
    got = client.get("/v1/search", params={"q": "حفتر", "k": 2}).json()
    body.pop("timings_ms"), got.pop("timings_ms")
    assert body == got


@pytest.mark.parametrize("payload, status, code", [
    ({"q": ""}, 422, "invalid_question"),
    ({}, 422, "validation_error"),
    ({"q": "حفتر", "k": 0}, 422, "validation_error"),
    ({"q": "حفتر", "top": 3}, 422, "validation_error"),
    ({"q": 5}, 422, "validation_error"),
])
def test_post_search_rejects_bad_bodies(client, payload, status, code):
    resp = client.post("/v1/search", json=payload)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code


def test_openapi_lists_both_methods(client):
    assert {"get", "post"} <= set(client.get("/openapi.json").json()["paths"]["/v1/search"])
