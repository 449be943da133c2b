"""Training run, adapter, playground pages (owned by the training area)."""
from django.shortcuts import render

from refinery.roles import CURATOR, role_required


@role_required(CURATOR)
def run_list(request):
    return render(request, "training/run_list.html", {})
