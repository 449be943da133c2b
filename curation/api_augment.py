"""REST API for augmentation (augment area). Registered on the router in curation/api.py.

Curators and admins only (annotators get 403), as in the UI. An augmentation run *is* its job: the same id
works at ``/api/jobs/{id}/`` (messages, cancel).

* ``GET  /api/augment-methods/`` — the methods with their options (type, default, meaning)
* ``POST /api/augment-runs/`` — ``{collection, methods, ratio, seed, options}`` queues the job the web form
  and the ``augment`` command run (``augment_start``); 400 names the bad field and lists what is valid
* ``GET  /api/augment-runs/?collection=&status=`` and ``/api/augment-runs/{id}/`` — status, progress and
  per-method acceptance counts
* ``GET  /api/augment-runs/{id}/samples/?method=`` — the samples the run created, each with its parent
"""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from refinery.models import Job
from refinery.roles import IsCurator

from .api_collections import SampleSerializer, _collection_param
from .augment.base import OPTION_TYPES, augment_methods
from .augment.selectors import augment_run_samples, augment_runs
from .augment.services import DEFAULT_RATIO, DEFAULT_SEED, AugmentRequestError, augment_start
from .models import Collection


# ------------------------------------------------------------------------------------ methods
class AugmentOptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text=f"One of {', '.join(OPTION_TYPES)} (strings: a list of strings; "
                                           "band: [low, high] within [0, 1]).")
    default = serializers.JSONField(allow_null=True, help_text="Used when the option is not given.")
    help = serializers.CharField()
    choices = serializers.ListField(child=serializers.CharField(), help_text="Allowed values (empty: any).")
    minimum = serializers.FloatField(allow_null=True)
    maximum = serializers.FloatField(allow_null=True)
    exclusive_minimum = serializers.BooleanField()


class AugmentMethodSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    options = AugmentOptionSerializer(many=True)


def _method_row(name: str, cls) -> dict:
    return {"name": name, "description": cls.description, "options": [
        {"name": opt, "type": spec.type, "default": spec.default, "help": spec.help, "choices": list(spec.choices),
         "minimum": spec.minimum, "maximum": spec.maximum, "exclusive_minimum": spec.exclusive_minimum}
        for opt, spec in cls.options_spec.items()]}


@extend_schema_view(list=extend_schema(summary="Augmentation methods with their options and defaults"),
                    retrieve=extend_schema(summary="One augmentation method with its options and defaults"))
class AugmentMethodViewSet(viewsets.GenericViewSet):
    serializer_class = AugmentMethodSerializer
    permission_classes = [IsCurator]
    pagination_class = None
    lookup_field = "name"
    lookup_value_regex = "[a-z_]+"

    def list(self, request):
        rows = [_method_row(name, cls) for name, cls in sorted(augment_methods().items())]
        return Response(AugmentMethodSerializer(rows, many=True).data)

    def retrieve(self, request, name=None):
        cls = augment_methods().get(name)
        if cls is None:
            raise Http404(f"No augmentation method {name!r}")
        return Response(AugmentMethodSerializer(_method_row(name, cls)).data)


# ------------------------------------------------------------------------------------ runs
class MethodAcceptanceSerializer(serializers.Serializer):
    method = serializers.CharField()
    attempted = serializers.IntegerField(help_text="Samples the method was applied to.")
    accepted = serializers.IntegerField(help_text="Samples that gave at least one new sample.")
    new_samples = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True)
    rejected = serializers.DictField(child=serializers.IntegerField(), help_text="Rejections by reason.")
    seconds = serializers.FloatField()


class AugmentRunSerializer(serializers.ModelSerializer):
    collection = serializers.IntegerField(source="params.collection_id", read_only=True)
    collection_name = serializers.CharField(read_only=True, allow_null=True, default=None)
    methods = serializers.ListField(source="params.methods", child=serializers.CharField(), read_only=True)
    ratio = serializers.FloatField(source="params.ratio", read_only=True)
    seed = serializers.IntegerField(source="params.seed", read_only=True, default=DEFAULT_SEED)
    options = serializers.JSONField(source="params.options", read_only=True, default=dict)
    percent = serializers.FloatField(read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, allow_null=True, default=None)
    # From the job's result: the figures so far while the run works (result.live), final once it has finished.
    eligible = serializers.IntegerField(source="result.eligible", read_only=True, allow_null=True, default=None)
    selected = serializers.IntegerField(source="result.selected", read_only=True, allow_null=True, default=None)
    held_out_skipped = serializers.IntegerField(source="result.held_out_skipped", read_only=True, allow_null=True,
                                                default=None)
    new_samples = serializers.IntegerField(source="result.new_samples", read_only=True, allow_null=True, default=None)
    acceptance = serializers.SerializerMethodField()
    job_url = serializers.HyperlinkedIdentityField(view_name="job-detail")
    samples_url = serializers.HyperlinkedIdentityField(view_name="augment-run-samples")

    class Meta:
        model = Job
        fields = ["id", "title", "status", "collection", "collection_name", "methods", "ratio", "seed", "options",
                  "progress_done", "progress_total", "percent", "stage", "eligible", "selected", "held_out_skipped",
                  "new_samples", "acceptance", "error", "cancel_requested", "created_by", "created_at", "started_at",
                  "finished_at", "job_url", "samples_url"]
        read_only_fields = fields

    @extend_schema_field(MethodAcceptanceSerializer(many=True))
    def get_acceptance(self, job: Job) -> list[dict]:
        """Per method, in run order: counts so far while the run works, final once it has finished."""
        methods = (job.result or {}).get("methods") or {}
        return [{"method": name, **{k: stats.get(k) for k in ("attempted", "accepted", "new_samples",
                                                               "acceptance_rate", "rejected", "seconds")}}
                for name, stats in methods.items()]


class AugmentRunStartSerializer(serializers.Serializer):
    collection = serializers.PrimaryKeyRelatedField(queryset=Collection.objects.all(), help_text="Collection id.")
    methods = serializers.ListField(child=serializers.CharField(), help_text=(
        "Methods to run, in order (see GET /api/augment-methods/)."))
    ratio = serializers.FloatField(default=DEFAULT_RATIO, help_text="Share of eligible samples to augment, in (0, 1].")
    seed = serializers.IntegerField(default=DEFAULT_SEED, help_text="Same seed, same selection and variants.")
    options = serializers.DictField(child=serializers.DictField(), default=dict, help_text=(
        "Per chosen method: {option: value} (see GET /api/augment-methods/); unset options take their default."))


class AugmentedSampleSerializer(SampleSerializer):
    parent_url = serializers.HyperlinkedRelatedField(source="parent", view_name="sample-detail", read_only=True)
    parent_messages = serializers.JSONField(source="parent.messages", read_only=True, default=None)

    class Meta(SampleSerializer.Meta):
        fields = [*SampleSerializer.Meta.fields, "parent_url", "parent_messages"]
        read_only_fields = fields


_STATUS = OpenApiParameter("status", OpenApiTypes.STR, enum=[s for s, _ in Job.Status.choices])


@extend_schema_view(
    list=extend_schema(summary="Augmentation runs (newest first)", parameters=[
        OpenApiParameter("collection", OpenApiTypes.INT, description="Collection id"), _STATUS]),
    retrieve=extend_schema(summary="One augmentation run: status, progress, acceptance counts"),
)
class AugmentRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = AugmentRunSerializer
    permission_classes = [IsCurator]
    parser_classes = [JSONParser]  # methods and options are nested JSON
    queryset = Job.objects.none()  # for the schema; the rows come from get_queryset

    def get_queryset(self):
        p = self.request.query_params
        collection, unknown = _collection_param(p)
        if unknown:
            return Job.objects.none()
        wanted = p.get("status", "")
        if wanted and wanted not in Job.Status.values:
            raise ValidationError({"status": [f"Unknown status {wanted!r}. Valid: {', '.join(Job.Status.values)}"]})
        return augment_runs(collection=collection, status=wanted)

    @extend_schema(summary="Start an augmentation job on a collection", request=AugmentRunStartSerializer,
                   responses={202: AugmentRunSerializer})
    def create(self, request, *args, **kwargs):
        body = AugmentRunStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        try:
            job = augment_start(collection=d["collection"], methods=d["methods"], ratio=d["ratio"],
                                options=d["options"], seed=d["seed"], user=request.user)
        except AugmentRequestError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        run = augment_runs().get(pk=job.pk)
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Samples an augmentation run created, each with its parent",
                   parameters=[OpenApiParameter("method", OpenApiTypes.STR, description="Only this method's samples")],
                   responses=AugmentedSampleSerializer(many=True))
    @action(detail=True, methods=["get"])
    def samples(self, request, pk=None):
        run = self.get_object()
        qs = augment_run_samples(job=run, method=request.query_params.get("method", ""))
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(AugmentedSampleSerializer(page, many=True,
                                                                         context=self.get_serializer_context()).data)
        return Response(AugmentedSampleSerializer(qs[:1000], many=True, context=self.get_serializer_context()).data)


def register(router) -> None:
    router.register("augment-methods", AugmentMethodViewSet, basename="augment-method")
    router.register("augment-runs", AugmentRunViewSet, basename="augment-run")
