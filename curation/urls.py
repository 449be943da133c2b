"""Curation URLs, one section per area; each area's views live in views_<area>.py."""
from django.urls import path

from . import views_collections, views_pipeline

app_name = "curation"
urlpatterns = [
    # ---- collections, documents, uploads (views_collections)
    path("collections/", views_collections.collection_list, name="collection_list"),
    # ---- pipelines, runs, dashboards (views_pipeline)
    path("pipelines/", views_pipeline.pipeline_list, name="pipeline_list"),
    # ---- glossary, quality classifier (views_steps)
    # ---- samples, builders, augmentation (views_samples)
]
