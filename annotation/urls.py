from django.urls import path

from . import views

app_name = "annotation"
urlpatterns = [
    path("", views.home, name="home"),
    path("projects/new/", views.project_new, name="project_new"),
    path("projects/<int:pk>/", views.project_detail, name="project_detail"),
    path("projects/<int:pk>/label/", views.label_next, name="label_next"),
    path("projects/<int:pk>/<str:action>/", views.project_action, name="project_action"),
    path("assignments/<int:pk>/", views.label, name="label"),
    path("items/<int:pk>/adjudicate/", views.adjudicate, name="adjudicate"),
    path("labelstudio/webhook/", views.labelstudio_webhook, name="labelstudio_webhook"),
]
