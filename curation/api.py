"""REST API routes of the curation app (mounted under /api/)."""
from rest_framework.routers import SimpleRouter

from . import api_collections

router = SimpleRouter()
api_collections.register(router)  # collections, source-files, documents, samples (+ upload)
urlpatterns = router.urls
