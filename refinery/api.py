"""REST API for jobs (curation/annotation/training each add their own routes in <app>/api.py)."""
from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from . import roles, selectors, tokens
from .jobs import job_cancel, job_reap_if_stale, job_reap_stale
from .models import Job


class JobSerializer(serializers.ModelSerializer):
    percent = serializers.FloatField(read_only=True, allow_null=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None)

    class Meta:
        model = Job
        fields = ["id", "kind", "title", "status", "params", "progress_done", "progress_total", "percent",
                  "stage", "messages", "result", "error", "cancel_requested", "created_by", "created_at",
                  "started_at", "finished_at", "heartbeat_at", "worker", "target_model", "target_id"]
        read_only_fields = fields


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Jobs you can see (curators: all; others: their own). POST /api/jobs/{id}/cancel/ stops one."""

    serializer_class = JobSerializer
    permission_classes = [roles.IsAnnotator]
    queryset = Job.objects.none()  # for the schema; the real rows come from get_queryset (row rules)

    def get_queryset(self):
        if self.action == "list":
            job_reap_stale()  # see refinery.jobs: jobs of dead workers end as failed
        return selectors.job_list(user=self.request.user, kind=self.request.query_params.get("kind"),
                                  status=self.request.query_params.get("status"))

    def get_object(self):
        return job_reap_if_stale(job=super().get_object())

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = self.get_object()
        if not (roles.is_curator(request.user) or job.created_by_id == request.user.id):
            return Response({"detail": "Only the job's owner or a curator can cancel it."}, status=status.HTTP_403_FORBIDDEN)
        return Response(JobSerializer(job_cancel(job=job)).data)


class ObtainTokenView(APIView):
    """``POST /api/auth/token/`` with ``username`` and ``password``: your API token (created on first use).

    Send it as ``Authorization: Token <key>``; replace it on the API token page (user menu).
    """

    authentication_classes: list = []
    permission_classes: list = []
    serializer_class = AuthTokenSerializer

    @extend_schema(request=AuthTokenSerializer, auth=[],
                   responses={200: inline_serializer("ApiToken", {"token": serializers.CharField(),
                                                                  "username": serializers.CharField()})})
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token = tokens.api_token_get_or_create(user=user)
        return Response({"token": token.key, "username": user.username})
