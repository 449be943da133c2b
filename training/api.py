"""REST API routes of the training app (mounted under /api/)."""
from rest_framework.routers import SimpleRouter

router = SimpleRouter()
# ---- datasets
from .api_datasets import DatasetVersionViewSet  # noqa: E402

router.register("datasets", DatasetVersionViewSet, basename="dataset-version")
# ---- training runs
urlpatterns = router.urls
