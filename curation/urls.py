"""Curation URLs, one section per area; each area's views live in views_<area>.py."""
from django.urls import path

from . import views_collections, views_pipeline

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
    # ---- samples, builders, augmentation (views_samples)
]
