"""Collections, documents, uploads (owned by the ingest area)."""
from django.shortcuts import render

from refinery.roles import CURATOR, role_required

from .models import Collection


@role_required(CURATOR)
def collection_list(request):
    return render(request, "curation/collection_list.html", {"collections": Collection.objects.all()})
