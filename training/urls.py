from django.urls import path

from . import api_runs, views_datasets, views_runs

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
    path("training/new/", views_runs.run_new, name="run_new"),
    path("training/new/preview/", views_runs.run_new_preview, name="run_new_preview"),
    path("training/quickstart/<int:version_id>/", views_runs.run_quickstart, name="run_quickstart"),
    path("training/runs/<int:pk>/", views_runs.run_detail, name="run_detail"),
    path("training/runs/<int:pk>/progress/", views_runs.run_progress, name="run_progress"),
    path("training/runs/<int:pk>/cancel/", views_runs.run_cancel, name="run_cancel"),
    path("training/runs/<int:pk>/resume/", views_runs.run_resume, name="run_resume"),
    path("training/compare/", views_runs.run_compare, name="run_compare"),
    path("training/compare/score/", views_runs.comparison_create, name="comparison_create"),
    path("training/labels/<int:version_id>/", views_runs.label_preview, name="label_preview"),
    path("training/layers/<int:version_id>/", views_runs.layer_importance, name="layer_importance"),
    path("training/adapters/", views_runs.adapter_list, name="adapter_list"),
    path("training/adapters/<int:pk>/", views_runs.adapter_detail, name="adapter_detail"),
    path("training/adapters/<int:pk>/download/", views_runs.adapter_download, name="adapter_download"),
    path("training/adapters/<int:pk>/<str:action>/", views_runs.adapter_action, name="adapter_action"),
    path("training/api-token/", views_runs.api_token_create, name="api_token_create"),
    path("training/playground/", views_runs.playground, name="playground"),
    path("training/playground/feedback/", views_runs.playground_feedback, name="playground_feedback"),
    path("v1/chat/completions", api_runs.ChatCompletionsView.as_view(), name="chat_completions"),
    path("v1/models", api_runs.ModelsView.as_view(), name="served_models"),
]
