"""Django admin covers every model of the project apps, and each admin page renders with real rows."""
import pytest
from django.apps import apps
from django.contrib import admin

from ._world import WORLD_PK, make_world

PROJECT_APPS = ("refinery", "curation", "annotation", "training")


def _project_models():
    return [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]


def test_every_project_model_is_registered_in_the_admin():
    models = _project_models()
    assert len(models) >= 25
    missing = [m._meta.label for m in models if m not in admin.site._registry]
    assert missing == [], f"models without a Django admin: {missing}"


@pytest.mark.django_db
def test_every_admin_page_renders_for_the_admin(admin_client_, admin_user, curator, annotator2, rf):
    make_world(curator=curator, other_annotator=annotator2)
    request = rf.get("/admin/")
    request.user = admin_user
    checked = with_rows = 0
    for model in _project_models():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        r = admin_client_.get(base)
        assert r.status_code == 200, base
        obj = model.objects.order_by("pk").last()
        if obj is not None:  # the world has a row of every model it knows
            r = admin_client_.get(f"{base}{obj.pk}/change/")
            assert r.status_code == 200, f"{base}{obj.pk}/change/"
            with_rows += 1
        if admin.site._registry[model].has_add_permission(request):
            assert admin_client_.get(f"{base}add/").status_code == 200, f"{base}add/"
        checked += 1
    assert checked == len(_project_models()) and with_rows >= 27
    assert admin_client_.get(f"/admin/curation/document/{WORLD_PK}/change/").context["original"].text == "World document."
