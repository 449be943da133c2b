from django.urls import path

from . import views_datasets, views_runs

app_name = "training"
urlpatterns = [
    # ---- datasets (views_datasets)
    path("datasets/", views_datasets.dataset_list, name="dataset_list"),
    # ---- training runs, adapters, playground (views_runs)
    path("training/", views_runs.run_list, name="run_list"),
]
