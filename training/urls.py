from django.urls import path

from . import views

app_name = "training"
urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset_list"),
    path("training/", views.run_list, name="run_list"),
]
