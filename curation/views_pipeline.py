"""Pipeline configs, runs, dashboards (owned by the engine area)."""
from django.shortcuts import render

from refinery.roles import CURATOR, role_required


@role_required(CURATOR)
def pipeline_list(request):
    return render(request, "curation/pipeline_list.html", {})
