from django.urls import path

from . import views_datasets, views_runs

app_name = "training"
urlpatterns = [
    # ---- datasets (views_datasets)
    path("datasets/", views_datasets.dataset_list, name="dataset_list"),
    path("datasets/new/", views_datasets.dataset_create, name="dataset_create"),
    path("datasets/new/preview/", views_datasets.dataset_preview, name="dataset_preview"),
    path("datasets/new/<int:collection_id>/", views_datasets.dataset_create_from_collection, name="dataset_create_default"),
    path("datasets/eval-sets/", views_datasets.evalset_list, name="evalset_list"),
    path("datasets/<int:pk>/", views_datasets.dataset_detail, name="dataset_detail"),
    path("datasets/<int:pk>/samples/", views_datasets.dataset_samples, name="dataset_samples"),
    path("datasets/<int:pk>/download/", views_datasets.dataset_download, name="dataset_download"),
    path("datasets/<int:pk>/diff/", views_datasets.dataset_diff, name="dataset_diff"),
    # ---- training runs, adapters, playground (views_runs)
    path("training/", views_runs.run_list, name="run_list"),
]
