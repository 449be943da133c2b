"""Curation URLs, one section per area; each area's views live in views_<area>.py."""
from django.urls import path

from . import views_collections, views_pipeline, views_samples, views_steps

app_name = "curation"
urlpatterns = [
    # ---- collections, documents, uploads (views_collections)
    path("collections/", views_collections.collection_list, name="collection_list"),
    path("collections/<int:pk>/", views_collections.collection_detail, name="collection_detail"),
    path("collections/<int:pk>/documents/", views_collections.document_list, name="document_list"),
    path("collections/<int:pk>/samples/", views_collections.sample_list, name="sample_list"),
    path("collections/<int:pk>/upload/", views_collections.upload, name="upload"),
    path("collections/<int:pk>/upload/jobs/<int:job_id>/", views_collections.upload_report, name="upload_report"),
    path("documents/<int:pk>/", views_collections.document_detail, name="document_detail"),
    path("documents/<int:pk>/status/", views_collections.document_status, name="document_status"),
    path("samples/<int:pk>/", views_collections.sample_detail, name="sample_detail"),
    path("source-files/<int:pk>/raw/", views_collections.source_file_raw, name="source_file_raw"),
    # ---- pipelines, runs, dashboards (views_pipeline)
    path("pipelines/", views_pipeline.pipeline_list, name="pipeline_list"),
    path("pipelines/new/", views_pipeline.pipeline_create, name="pipeline_create"),
    path("pipelines/<int:pk>/", views_pipeline.pipeline_edit, name="pipeline_edit"),
    path("pipelines/<int:pk>/export.yaml", views_pipeline.pipeline_export, name="pipeline_export"),
    path("pipelines/<int:pk>/run/", views_pipeline.pipeline_run, name="pipeline_run"),
    path("runs/<int:pk>/", views_pipeline.run_detail, name="run_detail"),
    path("runs/<int:pk>/rejections/", views_pipeline.run_rejections, name="run_rejections"),
    path("runs/<int:pk>/duplicates/", views_pipeline.run_duplicates, name="run_duplicates"),
    path("runs/compare/", views_pipeline.run_compare, name="run_compare"),
    # ---- glossary, quality classifier (views_steps)
    path("collections/<int:pk>/glossary/", views_steps.glossary, name="glossary"),
    path("collections/<int:pk>/glossary/<int:term_id>/", views_steps.glossary_term_edit, name="glossary_term_edit"),
    path("collections/<int:pk>/glossary/<int:term_id>/delete/", views_steps.glossary_term_delete, name="glossary_term_delete"),
    path("collections/<int:pk>/glossary/export.json", views_steps.glossary_export, name="glossary_export"),
    path("collections/<int:pk>/glossary/import/", views_steps.glossary_import, name="glossary_import"),
    path("collections/<int:pk>/quality/", views_steps.quality_classifier, name="quality_classifier"),
    path("collections/<int:pk>/quality/documents/<int:doc_id>/", views_steps.quality_label, name="quality_label"),
    path("collections/<int:pk>/quality/train/", views_steps.quality_train, name="quality_train"),
    # ---- samples, builders, augmentation (views_samples)
    path("collections/<int:pk>/samples/browse/", views_samples.sample_browser, name="sample_browser"),
    path("samples/<int:pk>/diff/", views_samples.sample_diff, name="sample_diff"),
    path("collections/<int:pk>/augment/", views_samples.augment, name="augment"),
    path("collections/<int:pk>/augment/entities/", views_samples.augment_entities, name="augment_entities"),
    path("collections/<int:pk>/builders/", views_samples.builders, name="builders"),
    path("collections/<int:pk>/builders/preview/", views_samples.builders_preview, name="builders_preview"),
    path("collections/<int:pk>/builders/build/", views_samples.builders_build, name="builders_build"),
    path("collections/<int:pk>/builders/qa/", views_samples.builders_qa, name="builders_qa"),
]
