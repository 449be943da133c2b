"""Helpers shared by the curation page views."""
from django.http import Http404

from .ingest import selectors as ingest_selectors
from .models import Collection


def collection_or_404(request, pk: int) -> Collection:
    """The collection ``pk`` as the requesting user may see it, or a 404 page."""
    try:
        return ingest_selectors.collection_get(user=request.user, pk=pk)
    except Collection.DoesNotExist:
        raise Http404("No such collection") from None
