"""REST API routes of the curation app (mounted under /api/)."""
from rest_framework.routers import SimpleRouter

router = SimpleRouter()
urlpatterns = router.urls
