"""The HTTP API against its OpenAPI document over real HTTP: uvicorn on 127.0.0.1 over the
real sample index. The document's rules and every documented status drawn and checked
(tests/support/openapi.py), schemathesis's generated requests, and /docs rendered by
Chromium with nothing from the internet. The same checks run in-process over test-hash in
unit/test_openapi.py, with the error mapping and damaged indexes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from support import openapi

from rag.config import Settings
from rag.index.store import CURRENT, VERSIONS
from rag.records import BuildReport
from rag.web.server import running_server


def test_the_document_follows_its_rules(client: httpx.Client) -> None:
    openapi.check_the_document(client.get("/openapi.json").json())


def test_every_documented_answer_is_drawn_and_matches_the_document(
    client: httpx.Client, sample_index: tuple[Settings, BuildReport], tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(sample_index[0].index_dir, damaged)
    version = damaged / VERSIONS / (damaged / CURRENT).read_text().strip()
    (version / "meta.sqlite").write_bytes(b"a damaged page")

    def without_index(walk: openapi.Walk) -> None:
        for index in (tmp_path / "none", damaged):
            with (
                running_server(Settings(index_dir=index)) as url,
                httpx.Client(base_url=url, timeout=60) as broken,
            ):
                openapi.draw_the_503s(broken, walk)

    openapi.walk_every_documented_answer(client, without_index)


@pytest.fixture(scope="module")
def api_schema(base_url: str) -> Any:
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


def valid_requests_are_never_refused_as_malformed(ctx: Any, response: Any, case: Any) -> None:
    """A request the document calls valid may fail the search (400: a blank question, a
    date that does not exist) or name no article (404), never be refused as malformed."""
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        assert response.status_code != 422, (case.path, case.query, case.body, response.text)


# invalid requests of every operation that takes parameters (health takes none)
GENERATED = [
    pytest.param(method, template, mode, id=f"{operation_id}-{mode}")
    for (method, template), operation_id in openapi.OPERATION_IDS.items()
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or template != "/api/health"
]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "template", "mode"), GENERATED)
def test_generated_requests_get_the_answers_the_document_describes(
    api_schema: Any, method: str, template: str, mode: GenerationMode
) -> None:
    """schemathesis's requests, valid and not: no 5xx, every status and body as documented.
    (Its pytest plugin does not run under pytest 9, so hypothesis drives it here.)"""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    operation = api_schema[template][method.upper()]
    sent: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    def generated(case: Any) -> None:
        response = case.call_and_validate(
            excluded_checks=[positive_data_acceptance],
            additional_checks=[valid_requests_are_never_refused_as_malformed],
        )
        sent.append(response.status_code)

    generated()
    assert sent, "no request was generated"


def test_the_docs_page_is_served_from_here(client: httpx.Client) -> None:
    openapi.check_the_docs_page(client)


@pytest.mark.browser
def test_the_docs_page_renders_every_operation_with_no_internet(base_url: str) -> None:
    """Chromium opens /docs with every request outside this server refused: the page
    shows each operation, and the policy blocks nothing it needs."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Chromium not found (apt-get install chromium; make test tries to)")
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()

            def only_here(route: Any) -> None:
                if route.request.url.startswith(base_url):
                    route.continue_()
                else:
                    elsewhere.append(route.request.url)
                    route.abort()

            page.route("**/*", only_here)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{base_url}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            page.locator(".opblock-summary-control").first.click()  # open the first operation
            page.wait_for_selector(".opblock-body .responses-table", timeout=10_000)
            shown_statuses = page.locator(".opblock-body .response-col_status").all_inner_texts()
        finally:
            browser.close()
    assert elsewhere == [] and problems == []
    assert len(paths) == len(openapi.OPERATION_IDS)
    assert {p.replace("\u200b", "") for p in paths} == {t for _, t in openapi.OPERATION_IDS}
    assert {"200", "422", "503"} <= {s.strip() for s in shown_statuses}
