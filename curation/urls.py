from django.urls import path

from . import views

app_name = "curation"
urlpatterns = [
    path("collections/", views.collection_list, name="collection_list"),
    path("pipelines/", views.pipeline_list, name="pipeline_list"),
]
