from django.shortcuts import render

from refinery.roles import ANNOTATOR, role_required


@role_required(ANNOTATOR)
def home(request):
    return render(request, "annotation/home.html", {})
