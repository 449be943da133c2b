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
    # ---- glossary, quality classifier (views_steps)
    # ---- samples, builders, augmentation (views_samples)
]
