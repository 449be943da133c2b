"""REST API routes of the annotation app (mounted under /api/).

- ``/api/labeling-projects/`` — projects you can see (curators: all; annotators: with work for them);
  ``POST`` (curators) creates one; ``GET …/{id}/agreement/`` (curators) the agreement report;
  ``POST …/{id}/adjudicate/`` (curators) majority-votes what passes the gate.
- ``/api/assignments/`` — *your own* queue; ``POST …/{id}/annotate/`` submits a label (validated
  against the scheme, 400 with per-field errors), ``POST …/{id}/skip/``.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from curation.models import Collection
from refinery.roles import IsAnnotator, IsCurator

from . import selectors, services
from .models import Annotation, Assignment, LabelingProject
from .schemes import LabelError, SchemeError


class ProjectSerializer(serializers.ModelSerializer):
    collection = serializers.SlugRelatedField(slug_field="name", queryset=Collection.objects.all())
    annotators = serializers.SlugRelatedField(slug_field="username", many=True,
                                              queryset=get_user_model().objects.all())
    sample_ids = serializers.ListField(child=serializers.IntegerField(), required=False, write_only=True)
    document_ids = serializers.ListField(child=serializers.IntegerField(), required=False, write_only=True)
    gold = serializers.DictField(child=serializers.DictField(), required=False, write_only=True,
                                 help_text="sample/document id → its known label (gold items score annotators)")

    class Meta:
        model = LabelingProject
        fields = ["id", "name", "collection", "target", "instructions", "scheme", "overlap", "agreement_threshold",
                  "annotators", "ls_project_id", "created_at", "sample_ids", "document_ids", "gold"]
        read_only_fields = ["id", "ls_project_id", "created_at"]


class AssignmentSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="item.project_id", read_only=True)
    item = serializers.IntegerField(source="item_id", read_only=True)
    text = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "project", "item", "status", "text"]
        read_only_fields = fields

    def get_text(self, obj) -> str:
        return selectors.item_text(obj.item)


class LabelSerializer(serializers.Serializer):
    label = serializers.DictField()
    lead_time = serializers.FloatField(required=False, min_value=0)


class ProjectViewSet(viewsets.ModelViewSet):
    serializer_class = ProjectSerializer
    http_method_names = ["get", "post", "head", "options"]
    queryset = LabelingProject.objects.none()

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return [IsAnnotator()]
        return [IsCurator()]

    def get_queryset(self):
        return selectors.project_list(user=self.request.user).prefetch_related("annotators")

    def create(self, request, *args, **kwargs):
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        try:
            gold = {int(k): v for k, v in (d.get("gold") or {}).items()}
        except ValueError:
            return Response({"detail": "gold keys must be sample/document ids"}, status=status.HTTP_400_BAD_REQUEST)
        try:
            project = services.project_create(
                name=d["name"], collection=d["collection"], scheme=d["scheme"], target=d.get("target", "sample"),
                overlap=d.get("overlap", 2), annotators=d.get("annotators", []), user=request.user,
                sample_ids=d.get("sample_ids"), document_ids=d.get("document_ids"),
                instructions=d.get("instructions", ""), agreement_threshold=d.get("agreement_threshold"), gold=gold)
        except (services.AnnotationError, SchemeError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get"])
    def agreement(self, request, pk=None):
        project = self.get_object()
        return Response(selectors.project_agreement_report(user=request.user, project=project))

    @action(detail=True, methods=["post"])
    def adjudicate(self, request, pk=None):
        project = self.get_object()
        return Response(services.project_adjudicate_majority(project=project, user=request.user))


class AssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Your own labelling queue (never anyone else's)."""

    serializer_class = AssignmentSerializer
    permission_classes = [IsAnnotator]
    queryset = Assignment.objects.none()

    def get_queryset(self):
        project = self.request.query_params.get("project")
        qs = selectors.annotator_queue(user=self.request.user, status=self.request.query_params.get("status"))
        return qs.filter(item__project_id=int(project)) if project and project.isdigit() else qs

    @action(detail=True, methods=["post"], serializer_class=LabelSerializer)
    def annotate(self, request, pk=None):
        assignment = self.get_object()
        ser = LabelSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        try:
            ann = services.annotation_submit(item=assignment.item, annotator=request.user,
                                             label=ser.validated_data["label"], source=Annotation.Source.API,
                                             lead_time=ser.validated_data.get("lead_time"))
        except LabelError as exc:
            return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"annotation": ann.pk, "label": ann.label}, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        try:
            a = services.assignment_skip(assignment=self.get_object())
        except services.AnnotationError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(AssignmentSerializer(a).data)


router = SimpleRouter()
router.register("labeling-projects", ProjectViewSet, basename="labeling-project")
router.register("assignments", AssignmentViewSet, basename="assignment")
urlpatterns = router.urls
