"""REST API routes of the curation app (mounted under /api/)."""
from rest_framework.routers import SimpleRouter

from . import api_augment, api_collections, api_pipeline

router = SimpleRouter()
api_collections.register(router)  # collections, source-files, documents, samples (+ upload)
api_pipeline.register(router)  # pipeline-configs (+ run), pipeline-runs (+ rejections)
api_augment.register(router)  # augment-methods, augment-runs (+ samples)
urlpatterns = router.urls
