from django.shortcuts import render

from refinery.roles import CURATOR, role_required

from .models import DatasetVersion


@role_required(CURATOR)
def dataset_list(request):
    return render(request, "training/dataset_list.html", {"versions": DatasetVersion.objects.all()})


@role_required(CURATOR)
def run_list(request):
    return render(request, "training/run_list.html", {})
