"""REST API for collections, source files, documents, samples and upload/ingest (ingest area).

Registered on the router in curation/api.py. Curators only (annotators get 403), as in the UI.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from refinery.api import JobSerializer
from refinery.roles import IsCurator

from .ingest import selectors
from .ingest.errors import IngestError
from .ingest.services import collection_create, collection_update, document_set_status, ingest_upload_start
from .models import Collection, Document, Sample, SourceFile


class CollectionSerializer(serializers.ModelSerializer):
    n_documents = serializers.IntegerField(read_only=True, default=0)
    n_samples = serializers.IntegerField(read_only=True, default=0)
    n_files = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Collection
        fields = ["id", "name", "title", "description", "domain", "settings", "n_files", "n_documents", "n_samples",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class SourceFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceFile
        fields = ["id", "collection", "name", "sha256", "size", "format", "encoding", "status", "error", "report",
                  "n_documents", "n_samples", "created_at"]
        read_only_fields = fields


class DocumentSerializer(serializers.ModelSerializer):
    source_file_name = serializers.CharField(source="source_file.name", read_only=True, default=None)

    class Meta:
        model = Document
        fields = ["id", "collection", "source_file", "source_file_name", "record_index", "external_id", "title",
                  "text", "content_hash", "language", "char_count", "status", "meta", "created_at"]
        read_only_fields = fields


class SampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sample
        fields = ["id", "collection", "messages", "origin", "method", "parent", "source_document", "source_file",
                  "record_index", "external_id", "intent", "entities", "domain", "language", "split",
                  "content_hash", "meta", "created_at"]
        read_only_fields = fields


def _validation(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "message_dict") else exc.messages)


@extend_schema_view(
    list=extend_schema(summary="Collections with file/document/sample counts"),
    create=extend_schema(summary="Create a collection"),
)
class CollectionViewSet(viewsets.ModelViewSet):
    """Collections (curators). POST /api/collections/{id}/upload/ (multipart ``files``) starts an ingest job."""

    serializer_class = CollectionSerializer
    permission_classes = [IsCurator]
    queryset = Collection.objects.none()

    def get_queryset(self):
        return selectors.collection_list(user=self.request.user)

    def perform_create(self, serializer):
        data = {k: serializer.validated_data.get(k, "") for k in ("name", "title", "description", "domain")}
        try:
            serializer.instance = collection_create(**data, user=self.request.user)
        except DjangoValidationError as exc:
            raise _validation(exc) from None

    def perform_update(self, serializer):
        fields = {k: v for k, v in serializer.validated_data.items() if k in ("title", "description", "domain", "settings")}
        if "name" in serializer.validated_data and serializer.validated_data["name"] != serializer.instance.name:
            raise ValidationError({"name": "A collection's name cannot change (the CLI and jobs use it)."})
        try:
            collection_update(collection=serializer.instance, user=self.request.user, **fields)
        except DjangoValidationError as exc:
            raise _validation(exc) from None

    @extend_schema(
        summary="Upload files (multipart field 'files', repeatable) and start an ingest job",
        request={"multipart/form-data": inline_serializer("IngestUpload", {
            "files": serializers.ListField(child=serializers.FileField())})},
        responses={202: JobSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request, pk=None):
        collection = self.get_object()
        try:
            job = ingest_upload_start(collection=collection, files=request.FILES.getlist("files"), user=request.user)
        except IngestError as exc:
            raise ValidationError({"files": str(exc)}) from None
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


_COLLECTION = OpenApiParameter("collection", OpenApiTypes.INT, description="Collection id")


@extend_schema_view(list=extend_schema(parameters=[_COLLECTION, OpenApiParameter("status", OpenApiTypes.STR)]))
class SourceFileViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SourceFileSerializer
    permission_classes = [IsCurator]
    queryset = SourceFile.objects.none()

    def get_queryset(self):
        qs = SourceFile.objects.all().order_by("id")
        p = self.request.query_params
        if p.get("collection", "").isdigit():
            qs = qs.filter(collection_id=p["collection"])
        if p.get("status"):
            qs = qs.filter(status=p["status"])
        return qs


def _collection_param(params) -> tuple[Collection | None, bool]:
    """The ``?collection=<id>`` filter: (collection or None, True when the id names no collection)."""
    value = params.get("collection")
    if not value:
        return None, False
    if not value.isdigit():
        raise ValidationError({"collection": "must be a collection id"})
    collection = Collection.objects.filter(pk=value).first()
    return collection, collection is None


@extend_schema_view(list=extend_schema(parameters=[
    _COLLECTION,
    OpenApiParameter("q", OpenApiTypes.STR, description="Full-text search (all terms must match)"),
    OpenApiParameter("language", OpenApiTypes.STR),
    OpenApiParameter("source_file", OpenApiTypes.INT),
    OpenApiParameter("status", OpenApiTypes.STR, enum=[c for c, _ in Document.Status.choices]),
]))
class DocumentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DocumentSerializer
    permission_classes = [IsCurator]
    queryset = Document.objects.none()

    def get_queryset(self):
        p = self.request.query_params
        collection, unknown = _collection_param(p)
        if unknown:
            return Document.objects.none()
        source_file = p.get("source_file", "")
        if source_file and not source_file.isdigit():
            raise ValidationError({"source_file": "must be a source file id"})
        qs = selectors.document_list(user=self.request.user, collection=collection, q=p.get("q", ""),
                                     language=p.get("language", ""), source_file=source_file,
                                     status=p.get("status", ""))
        return qs.defer(None)

    @extend_schema(summary="Exclude a document from curation/exports, or make it active again",
                   request=inline_serializer("DocumentStatus", {
                       "status": serializers.ChoiceField(choices=Document.Status.choices)}),
                   responses={200: DocumentSerializer})
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        document = self.get_object()
        try:
            document_set_status(document=document, status=str(request.data.get("status", "")), user=request.user)
        except ValueError as exc:
            raise ValidationError({"status": str(exc)}) from None
        return Response(DocumentSerializer(document).data)


@extend_schema_view(list=extend_schema(parameters=[
    _COLLECTION, OpenApiParameter("q", OpenApiTypes.STR), OpenApiParameter("origin", OpenApiTypes.STR),
    OpenApiParameter("language", OpenApiTypes.STR), OpenApiParameter("intent", OpenApiTypes.STR),
]))
class SampleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SampleSerializer
    permission_classes = [IsCurator]
    queryset = Sample.objects.none()

    def get_queryset(self):
        p = self.request.query_params
        collection, unknown = _collection_param(p)
        if unknown:
            return Sample.objects.none()
        return selectors.sample_list(user=self.request.user, collection=collection, q=p.get("q", ""),
                                     origin=p.get("origin", ""), language=p.get("language", ""),
                                     intent=p.get("intent", ""))


def register(router) -> None:
    router.register("collections", CollectionViewSet, basename="collection")
    router.register("source-files", SourceFileViewSet, basename="source-file")
    router.register("documents", DocumentViewSet, basename="document")
    router.register("samples", SampleViewSet, basename="sample")
