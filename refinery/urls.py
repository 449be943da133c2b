from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import api, views

router = DefaultRouter()
router.register("jobs", api.JobViewSet, basename="job")

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", login_not_required(auth_views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/cancel/", views.job_cancel_view, name="job_cancel"),
    path("account/token/", views.api_token, name="api_token"),
    path("admin/", admin.site.urls),
    # REST API (token or session auth) and its OpenAPI schema / docs (curators and admins)
    path("api/auth/token/", login_not_required(api.ObtainTokenView.as_view()), name="api-token-obtain"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(router.urls)),
    path("api/", include("curation.api")),
    path("api/", include("annotation.api")),
    path("api/", include("training.api")),
    # Pages, one include per app
    path("", include("curation.urls")),
    path("annotation/", include("annotation.urls")),
    path("", include("training.urls")),
]
