"""Browser: a curator previews the count live, creates a version, and browses its charts and samples."""
import pytest

from tests.conftest import browser_login


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_curator_creates_and_browses_a_version(page, collection, curator):
    browser_login(page, "curator")
    page.goto(f"/datasets/new/?collection={collection.pk}")
    page.wait_for_selector("#preview-count")
    assert page.locator("#preview-count").inner_text() == "69"
    page.fill("#id_languages", "zh")
    page.wait_for_function("document.querySelector('#preview-count') && "
                           "document.querySelector('#preview-count').textContent === '33'")
    page.click("#create-submit")
    page.wait_for_selector("[data-job-status=succeeded]")
    page.goto("/datasets/")
    page.click("#versions >> text=v1")
    page.wait_for_selector("#chart-splits .main-svg")  # plotly rendered the chart
    assert page.locator("#charts .chart").count() >= 4
    assert page.locator("#samples .sample").count() == 10
    page.click("#samples >> text=test")
    page.wait_for_function("document.querySelectorAll('#samples .btn:not(.secondary)')[0].textContent.trim() === 'test'")
    assert 1 <= page.locator("#samples .sample").count() <= 10
    assert "问题" in page.locator("#samples").inner_text()
