"""REST API for pipeline configs and runs (engine area). Registered on the router in curation/api.py.

Curators only. ``POST /api/pipeline-configs/`` validates steps like the editor (400 listing valid steps and
options); ``POST /api/pipeline-configs/{id}/run/`` queues a run (202 with the run); ``GET /api/pipeline-runs/{id}/``
gives its status and report; ``GET /api/pipeline-runs/{id}/rejections/?step=&reason=`` pages its drops.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from refinery.roles import IsCurator

from . import selectors
from .models import Collection, PipelineConfig, PipelineRun, RunRejection
from .pipeline.base import StepConfigError
from .pipeline.engine import EXECUTORS, PipelineError
from .pipeline.services import pipeline_config_create, pipeline_config_update, pipeline_run_start


class PipelineConfigSerializer(serializers.ModelSerializer):
    collection = serializers.SlugRelatedField(slug_field="name", queryset=Collection.objects.all())
    yaml = serializers.CharField(write_only=True, required=False, help_text="Steps as YAML (instead of 'steps').")

    class Meta:
        model = PipelineConfig
        fields = ["id", "collection", "name", "description", "steps", "yaml", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"steps": {"required": False}}


class PipelineRunSerializer(serializers.ModelSerializer):
    collection = serializers.CharField(source="collection.name", read_only=True)

    class Meta:
        model = PipelineRun
        fields = ["id", "collection", "config", "config_name", "steps", "executor", "status", "job", "n_input",
                  "n_output", "n_rejected", "seconds", "report", "started_at", "finished_at", "error", "created_at"]
        read_only_fields = fields


class RunRejectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RunRejection
        fields = ["id", "record_id", "document", "sample", "step", "reason", "duplicate_of", "text", "details"]
        read_only_fields = fields


class RunStartSerializer(serializers.Serializer):
    executor = serializers.ChoiceField(choices=EXECUTORS, required=False)


class PipelineConfigViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PipelineConfigSerializer
    permission_classes = [IsCurator]
    queryset = PipelineConfig.objects.none()

    def get_queryset(self):
        return selectors.pipeline_config_list()

    def perform_create(self, serializer):
        d = serializer.validated_data
        try:
            serializer.instance = pipeline_config_create(
                collection=d["collection"], name=d["name"], steps=d.get("steps"), yaml_text=d.get("yaml"),
                description=d.get("description", ""))
        except StepConfigError as exc:
            raise ValidationError({"steps": [str(exc)]}) from None

    def perform_update(self, serializer):
        d = serializer.validated_data
        try:
            serializer.instance = pipeline_config_update(config=serializer.instance, steps=d.get("steps"),
                                                         yaml_text=d.get("yaml"), description=d.get("description"))
        except StepConfigError as exc:
            raise ValidationError({"steps": [str(exc)]}) from None

    @extend_schema(request=RunStartSerializer, responses={202: PipelineRunSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        config = self.get_object()
        body = RunStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = pipeline_run_start(collection=config.collection, config=config, user=request.user,
                                     executor=body.validated_data.get("executor"))
        except (StepConfigError, PipelineError) as exc:
            raise ValidationError({"steps": [str(exc)]}) from None
        return Response(PipelineRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class PipelineRunViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PipelineRunSerializer
    permission_classes = [IsCurator]
    queryset = PipelineRun.objects.none()

    def get_queryset(self):
        collection = self.request.query_params.get("collection")
        qs = selectors.pipeline_run_list()
        return qs.filter(collection__name=collection) if collection else qs

    @extend_schema(responses=RunRejectionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def rejections(self, request, pk=None):
        run = self.get_object()
        qs = selectors.run_rejections(run=run, step=request.query_params.get("step"),
                                      reason=request.query_params.get("reason"))
        page = self.paginate_queryset(qs)
        if page is not None:
            return self.get_paginated_response(RunRejectionSerializer(page, many=True).data)
        return Response(RunRejectionSerializer(qs[:1000], many=True).data)


def register(router) -> None:
    router.register("pipeline-configs", PipelineConfigViewSet, basename="pipeline-config")
    router.register("pipeline-runs", PipelineRunViewSet, basename="pipeline-run")
