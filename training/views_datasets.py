"""Dataset version pages (owned by the datasets area)."""
from django.shortcuts import render

from refinery.roles import CURATOR, role_required

from .models import DatasetVersion


@role_required(CURATOR)
def dataset_list(request):
    return render(request, "training/dataset_list.html", {"versions": DatasetVersion.objects.all()})
