"""An annotator labels three items in the built-in UI, in headless Chromium against a live server."""
import pytest

from annotation import services
from annotation.models import Annotation
from annotation.schemes import PRESETS
from tests.conftest import browser_login

from .helpers import make_collection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_annotator_labels_three_items_with_keyboard_and_inline_edit(page, curator, annotator):
    col = make_collection(n=3)
    project = services.project_create(name="Browser review", collection=col, scheme=PRESETS["sft_review"],
                                      overlap=1, annotators=[annotator], user=curator)
    browser_login(page, "annotator1")
    page.wait_for_url("**/annotation/")
    page.click("text=Start labelling")
    page.wait_for_selector("#label-form[data-ready]")
    assert page.is_visible("text=What helps with symptom 0?")

    # item 1: keyboard only — 4, 5, 3 for the ratings, "a" accept, Ctrl+Enter submit
    for key in ("4", "5", "3", "a"):
        page.keyboard.press(key)
    assert page.is_checked('input[name="decision"][value="accept"]')
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=What helps with symptom 1?")
    page.wait_for_selector("#label-form[data-ready]")
    assert "1 / 3 done" in page.inner_text("#progress-text")

    # item 2: submit incomplete → server-side validation, nothing stored; then edit the response inline
    page.keyboard.press("5")
    page.click("#submit-label")
    page.wait_for_selector("text=Please fix the fields marked below.")
    page.wait_for_selector("#label-form[data-ready]")
    assert page.is_visible("text=This field is required.")
    assert Annotation.objects.count() == 1
    page.check('input[name="relevance"][value="5"]')
    page.check('input[name="accuracy"][value="2"]')
    page.check('input[name="fluency"][value="4"]')
    page.click("body")
    page.keyboard.press("e")
    assert page.is_visible("textarea[name=edited_response]")
    page.fill("textarea[name=edited_response]", "Rest, fluids, and see a doctor if it lasts.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=What helps with symptom 2?")
    page.wait_for_selector("#label-form[data-ready]")

    # item 3: mouse, reject
    for name, value in (("relevance", "2"), ("accuracy", "1"), ("fluency", "3"), ("decision", "reject")):
        page.check(f'input[name="{name}"][value="{value}"]')
    page.click("#submit-label")
    page.wait_for_url("**/annotation/")
    assert page.is_visible("text=is done")

    labels = [a.label for a in Annotation.objects.filter(item__project=project).order_by("item__position")]
    assert labels[0] == {"relevance": 4, "accuracy": 5, "fluency": 3, "decision": "accept"}
    assert labels[1]["decision"] == "edit" and labels[1]["edited_response"].startswith("Rest, fluids")
    assert labels[2]["decision"] == "reject"


def test_annotator_marks_entity_spans_on_a_document(page, curator, annotator):
    col = make_collection(name="ner", n=1)
    project = services.project_create(name="NER pass", collection=col, scheme=PRESETS["entities"],
                                      target="document", overlap=1, annotators=[annotator], user=curator)
    browser_login(page, "annotator1")
    page.goto(f"/annotation/projects/{project.pk}/label/")
    page.wait_for_selector("#item-text")
    # select "Alice Smith" inside the displayed text, then click the PERSON label
    page.evaluate("""() => {
        const el = document.getElementById('item-text');
        const node = el.firstChild; const start = node.textContent.indexOf('Alice Smith');
        const r = document.createRange(); r.setStart(node, start); r.setEnd(node, start + 11);
        const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
    }""")
    page.click('button.span-label[data-label="PERSON"]')
    assert "PERSON: “Alice Smith”" in page.inner_text(".spans-list")
    page.click("#submit-label")
    page.wait_for_url("**/annotation/")
    label = Annotation.objects.get(item__project=project).label
    assert label["entities"] == [{"start": 12, "end": 23, "label": "PERSON", "text": "Alice Smith"}]
