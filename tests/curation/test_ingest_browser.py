"""Browser: a curator uploads a file on the upload page, sees the live report, then the document in the collection."""
import pytest

from curation.ingest.services import collection_create
from tests.conftest import browser_login


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_curator_uploads_a_file_and_sees_it_in_the_collection(page, curator, tmp_path):
    coll = collection_create(name="browser-demo", title="Browser demo")
    upload = tmp_path / "hypertension_note.txt"
    upload.write_text("Browser upload: patients with hypertension should reduce salt intake.\n", encoding="utf-8")
    browser_login(page, "curator")
    page.goto(f"/collections/{coll.pk}/upload/")
    page.set_input_files("#id_files", str(upload))
    page.click("#upload-button")
    report = page.locator("#ingest-report[data-job-status=succeeded]")
    report.wait_for()
    assert "hypertension_note.txt" in report.inner_text()
    assert "1 documents" in report.inner_text()
    page.click("text=Open the collection →")
    page.wait_for_url(f"**/collections/{coll.pk}/")
    assert page.locator("#stat-documents").inner_text() == "1"
    page.click("#source-files >> text=hypertension_note.txt")
    page.wait_for_selector("#documents")
    assert "reduce salt intake" in page.locator("#documents").inner_text()
    page.fill("input[name=q]", "hypertension salt")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=hypertension*")
    page.click("#documents >> text=hypertension_note")
    assert "patients with hypertension" in page.locator("#document-text").inner_text()
