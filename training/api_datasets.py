"""REST API for dataset versions (curators only): list, read, create (as a job), diff, download."""
from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from refinery.jobs import job_start
from refinery.roles import IsCurator

from .dataset_spec import DatasetSpec, DatasetSpecError
from .models import DatasetVersion
from .selectors_datasets import dataset_version_list
from .services.datasets import DatasetError, dataset_version_diff, dataset_version_zip


class DatasetVersionSerializer(serializers.ModelSerializer):
    collection = serializers.SlugRelatedField(slug_field="name", read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.SlugRelatedField(slug_field="number", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DatasetVersion
        fields = ["id", "collection", "number", "name", "status", "spec", "content_hash", "n_train", "n_validation",
                  "n_test", "parent", "notes", "created_at", "created_by", "manifest"]
        read_only_fields = fields


class DatasetVersionCreateSerializer(serializers.Serializer):
    collection = serializers.SlugField(help_text="Collection name")
    spec = serializers.DictField(required=False, default=dict, help_text="Filter spec (see DatasetSpec)")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class DatasetVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsCurator]
    serializer_class = DatasetVersionSerializer

    queryset = DatasetVersion.objects.none()  # typed for the schema; rows come from the selector

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return DatasetVersion.objects.none()
        qs = dataset_version_list(user=self.request.user)
        if self.request.query_params.get("collection"):
            qs = qs.filter(collection__name=self.request.query_params["collection"])
        return qs

    @extend_schema(request=DatasetVersionCreateSerializer, responses={202: dict})
    def create(self, request):
        from curation.models import Collection

        ser = DatasetVersionCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        col = Collection.objects.filter(name=ser.validated_data["collection"]).first()
        if col is None:
            raise ValidationError({"collection": f"No collection named {ser.validated_data['collection']!r}"})
        try:
            spec = DatasetSpec.parse(ser.validated_data["spec"])
        except DatasetSpecError as exc:
            raise ValidationError({"spec": str(exc)}) from exc
        job = job_start(kind="training.dataset_create", title=f"Create dataset version of {col.name}",
                        params={"collection_id": col.pk, "spec": spec.as_dict(), "notes": ser.validated_data["notes"]},
                        user=request.user, target=col)
        return Response({"job_id": job.pk, "job_url": f"/api/jobs/{job.pk}/"}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[OpenApiParameter("other", int, required=True, description="Id of the other version")],
                   responses=dict)
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        version = self.get_object()
        try:
            other = self.get_queryset().get(pk=int(request.query_params.get("other", "")))
        except (ValueError, DatasetVersion.DoesNotExist):
            raise NotFound("Pass ?other=<version id> of the same collection") from None
        a, b = (other, version) if other.number < version.number else (version, other)
        try:
            return Response(dataset_version_diff(a=a, b=b).as_dict(limit=1000))
        except DatasetError as exc:
            raise ValidationError(str(exc)) from exc

    @extend_schema(responses={(200, "application/zip"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        version = self.get_object()
        if version.status != DatasetVersion.Status.READY:
            raise NotFound("This version has no files")
        path = dataset_version_zip(version=version)
        return FileResponse(open(path, "rb"), as_attachment=True,
                            filename=f"{version.collection.name}-{version.name}.zip", content_type="application/zip")
