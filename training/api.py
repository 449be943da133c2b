"""REST API routes of the training app (mounted under /api/)."""
from rest_framework.routers import SimpleRouter

router = SimpleRouter()
# ---- datasets
from .api_datasets import DatasetVersionViewSet  # noqa: E402

router.register("datasets", DatasetVersionViewSet, basename="dataset-version")
# ---- training runs
from .api_runs import TrainingRunViewSet  # noqa: E402

router.register("training-runs", TrainingRunViewSet, basename="training-run")
urlpatterns = router.urls
