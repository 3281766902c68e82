"""The HTTP API against its own OpenAPI document, for both tiers: integration/test_openapi.py
over real HTTP on the real engine, unit/test_openapi.py in-process over test-hash.

``check_the_document`` holds the document to its rules (valid OpenAPI, one error model,
readable operation ids, a typed 200 everywhere); ``walk_every_documented_answer`` makes
real requests that draw every status each operation documents and checks each answer
against the document, so neither the server nor the document can drift from the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
from openapi_spec_validator import validate as validate_openapi

from rag.web.app import MAX_BODY_BYTES, VERSION_HEADER
from support.sample import QUESTION

ERROR_MODEL = "#/components/schemas/ErrorBody"
OPERATION_IDS = {
    ("get", "/api/search"): "search",
    ("post", "/api/search"): "search_post",
    ("get", "/api/ask"): "ask",
    ("post", "/api/ask"): "ask_post",
    ("get", "/api/timeline"): "timeline",
    ("post", "/api/timeline"): "timeline_post",
    ("get", "/api/articles/{article_id}"): "get_article",
    ("get", "/api/health"): "health",
    ("get", "/api/watches"): "list_watches",
}
# a status no request can draw on purpose: documented, never walked
UNDRAWABLE = {"500"}


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, template, operation


def check_the_document(document: dict[str, Any]) -> None:
    validate_openapi(document)  # raises on anything that is not valid OpenAPI
    assert document["openapi"].startswith("3.1")
    found = {(method, template): op["operationId"] for method, template, op in operations(document)}
    assert found == OPERATION_IDS
    schemas = document["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError"} & set(schemas)  # FastAPI's 422
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert schemas["ErrorBody"]["additionalProperties"] is False
    for method, template, operation in operations(document):
        where = f"{method} {template}"
        responses = operation["responses"]
        ok = responses["200"]["content"]["application/json"]["schema"]
        name = ok["$ref"].rsplit("/", 1)[-1]
        assert schemas[name]["properties"] and schemas[name]["additionalProperties"] is False
        assert VERSION_HEADER in responses["200"]["headers"], where
        errors = {status: r for status, r in responses.items() if status[0] in "45"}
        assert {"403", "413", "421", "500", "503"} <= set(errors), where
        for response in errors.values():
            assert response["content"]["application/json"]["schema"] == {"$ref": ERROR_MODEL}
            assert response["description"] and response["description"] != "Error", where
        has_parameters = template != "/api/health"
        assert ("422" in errors) == has_parameters, where


def body_schema(document: dict[str, Any], method: str, template: str, status: int) -> Any:
    """The JSON schema the document gives an answer's body, its components attached."""
    response = document["paths"][template][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def check_answer(
    document: dict[str, Any], method: str, template: str, response: httpx.Response
) -> None:
    """``response`` has a status the operation documents, and the body and headers it says."""
    status = response.status_code
    documented = document["paths"][template][method]["responses"]
    assert str(status) in documented, f"{method} {template} answered {status}, not documented"
    assert response.headers["content-type"] == "application/json", response.headers
    jsonschema.Draft202012Validator(body_schema(document, method, template, status)).validate(
        response.json()
    )
    for header in documented[str(status)].get("headers", {}):
        assert response.headers.get(header), f"{method} {template} {status}: no {header}"


@dataclass
class Walk:
    """Requests sent and the (method, template, status) each drew."""

    document: dict[str, Any]
    drawn: set[tuple[str, str, str]] = field(default_factory=set)

    def send(
        self,
        client: httpx.Client,
        method: str,
        template: str,
        status: int,
        path: str | None = None,
        **request: Any,
    ) -> httpx.Response:
        response = client.request(method.upper(), path or template, **request)
        assert response.status_code == status, (method, path or template, response.text)
        check_answer(self.document, method, template, response)
        self.drawn.add((method, template, str(status)))
        return response

    def undrawn(self) -> set[tuple[str, str, str]]:
        documented = {
            (method, template, status)
            for method, template, operation in operations(self.document)
            for status in operation["responses"]
            if status not in UNDRAWABLE
        }
        return documented - self.drawn


def _parameters(method: str, **values: Any) -> dict[str, Any]:
    return {"params": values} if method == "get" else {"json": values}


def walk_every_documented_answer(
    client: httpx.Client, without_index: Callable[[Walk], None]
) -> Walk:
    """Draws every status every operation documents (but 500) from ``client`` and checks
    each answer; ``without_index(walk)`` draws the 503s from a server that has no index."""
    document = client.get("/openapi.json").json()
    walk = Walk(document)
    big = "x" * (MAX_BODY_BYTES + 1)
    for (method, template), _ in OPERATION_IDS.items():
        path = template
        if template == "/api/articles/{article_id}":
            hit = client.get("/api/search", params={"q": QUESTION, "k": 1}).json()["hits"][0]
            path = f"/api/articles/{hit['article_id']}"
            walk.send(client, method, template, 404, "/api/articles/no-such-article")
            walk.send(client, method, template, 422, "/api/articles/" + "x" * 201)
            walk.send(client, method, template, 200, path)
        elif template == "/api/health":
            walk.send(client, method, template, 200)
        elif template == "/api/watches":
            walk.send(client, method, template, 200, params={"limit": 5})
            walk.send(client, method, template, 422, params={"limit": 0})
            walk.send(client, method, template, 422, params={"limit": "many"})
        else:
            walk.send(client, method, template, 200, **_parameters(method, q=QUESTION, k=3))
            walk.send(client, method, template, 400, **_parameters(method, q="   "))
            walk.send(client, method, template, 400, **_parameters(method, q="x", since="soon"))
            walk.send(client, method, template, 422, **_parameters(method, q=QUESTION, k=0))
            walk.send(client, method, template, 422, **_parameters(method, k=3))
        walk.send(client, method, template, 403, path, headers={"Origin": "http://evil.example"})
        walk.send(client, method, template, 421, path, headers={"Host": "evil.example"})
        walk.send(
            client, method, template, 413, path, content=big, headers={"content-type": "text/plain"}
        )
    without_index(walk)
    assert walk.undrawn() == set()
    return walk


def draw_the_503s(client: httpx.Client, walk: Walk) -> None:
    """Every operation asked of ``client``, a server whose index is missing or damaged."""
    for (method, template), _ in OPERATION_IDS.items():
        path = template.replace("{article_id}", "x")
        if template in ("/api/health", "/api/watches") or "{" in template:
            walk.send(client, method, template, 503, path)
        else:
            walk.send(client, method, template, 503, path, **_parameters(method, q=QUESTION))


def check_the_docs_page(client: httpx.Client) -> None:
    """/docs is an HTML page whose scripts and styles all come from this server."""
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(linked) == 3 and all(url.startswith("/docs/") for url in linked), linked
    assert "<script>" not in page.text  # no inline script, which the policy would block
    for url in linked:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    start = client.get("/docs/start.js").text
    assert '"/openapi.json"' in start and "http" not in start
