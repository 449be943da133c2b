"""REST API routes of the curation app (mounted under /api/)."""
from rest_framework.routers import SimpleRouter

from . import api_collections, api_pipeline

router = SimpleRouter()
api_collections.register(router)  # collections, source-files, documents, samples (+ upload)
api_pipeline.register(router)  # pipeline-configs (+ run), pipeline-runs (+ rejections)
urlpatterns = router.urls
