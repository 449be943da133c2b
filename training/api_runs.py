"""OpenAI-compatible serving API: ``POST /v1/chat/completions`` and ``GET /v1/models`` (token auth).

``Authorization: Token <key>`` (DRF token of a curator; create one on the Adapters page or with
``manage.py drf_create_token <user>``) — ``Bearer <key>`` is accepted too, as OpenAI clients send it.
"""
from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication, get_authorization_header
from rest_framework.response import Response
from rest_framework.views import APIView

from refinery.roles import IsCurator

from .serving import ServingError, chat_completion, served_models


class BearerOrTokenAuthentication(TokenAuthentication):
    """``Token <key>`` or ``Bearer <key>`` (OpenAI SDKs send the API key as a bearer token)."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in (b"token", b"bearer"):
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed("Invalid authorization header: expected 'Bearer <token>'.")
        try:
            key = auth[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token characters.") from None
        return self.authenticate_credentials(key)


class BearerOrTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerOrTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A curator's API token (also accepted as 'Token <key>')."}


def _openai_error(message: str, code: int, kind: str = "invalid_request_error") -> Response:
    return Response({"error": {"message": message, "type": kind}}, status=code)


class ChatCompletionsView(APIView):
    authentication_classes = [BearerOrTokenAuthentication, SessionAuthentication]
    permission_classes = [IsCurator]

    @extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT,
                   summary="OpenAI-compatible chat completion (model: default, <collection>-a<N> or a base model)")
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        if data.get("stream"):
            return _openai_error("stream=true is not supported; use vLLM --enable-lora for streaming.", 400)
        try:
            body = chat_completion(model=data.get("model"), messages=data.get("messages"),
                                   max_tokens=data.get("max_tokens") or data.get("max_completion_tokens") or 128,
                                   temperature=data.get("temperature") or 0.0)
        except ServingError as exc:
            return _openai_error(str(exc), status.HTTP_400_BAD_REQUEST)
        return Response(body)

    def permission_denied(self, request, message=None, code=None):
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated("Send 'Authorization: Bearer <token>'.")
        super().permission_denied(request, message=message, code=code)


class ModelsView(APIView):
    authentication_classes = [BearerOrTokenAuthentication, SessionAuthentication]
    permission_classes = [IsCurator]

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="Models this server can answer with (OpenAI format)")
    def get(self, request):
        return Response({"object": "list", "data": served_models()})


# ------------------------------------------------------------------------------------ runs REST API
from rest_framework import serializers, viewsets  # noqa: E402
from rest_framework.decorators import action  # noqa: E402

from . import selectors  # noqa: E402
from .models.datasets import DatasetVersion  # noqa: E402
from .models.runs import TrainingRun  # noqa: E402


class TrainingRunSerializer(serializers.ModelSerializer):
    adapter_id = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = ["id", "dataset_version", "base_model", "config", "status", "steps_done", "total_steps",
                  "exit_code", "error", "eval_before", "eval_after", "tokens_per_second", "job", "adapter_id",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = [f for f in fields if f not in ("dataset_version", "base_model", "config")]

    def get_adapter_id(self, obj) -> int | None:
        return getattr(getattr(obj, "adapter", None), "pk", None)


class TrainingRunViewSet(viewsets.ModelViewSet):
    """Training runs. POST {dataset_version, base_model?, config?} creates and starts one;
    POST /api/training-runs/{id}/cancel/ stops it with a checkpoint; .../resume/ continues it."""

    serializer_class = TrainingRunSerializer
    permission_classes = [IsCurator]
    http_method_names = ["get", "post", "head", "options"]
    queryset = TrainingRun.objects.none()

    def get_queryset(self):
        return selectors.run_list(user=self.request.user)

    def create(self, request, *args, **kwargs):
        from .basemodels import BUNDLED_NAME
        from .services.runs import RunError, run_create, run_start

        data = request.data if isinstance(request.data, dict) else {}
        try:
            version = selectors.dataset_version_list(user=request.user).get(pk=int(data.get("dataset_version")))
        except (TypeError, ValueError, DatasetVersion.DoesNotExist):
            return Response({"dataset_version": ["A dataset version id."]}, status=status.HTTP_400_BAD_REQUEST)
        config = data.get("config") or {}
        if not isinstance(config, dict):
            return Response({"config": ["A mapping of settings."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            run = run_create(dataset_version=version, user=request.user,
                             base_model=data.get("base_model") or BUNDLED_NAME, config=config)
        except RunError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        run_start(run=run, user=request.user)
        run.refresh_from_db()
        return Response(TrainingRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        from .services.runs import run_cancel

        run = self.get_object()
        run_cancel(run=run)
        run.refresh_from_db()
        return Response(TrainingRunSerializer(run).data)

    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        from .services.runs import RunError, run_resume

        run = self.get_object()
        try:
            run_resume(run=run, user=request.user)
        except RunError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        run.refresh_from_db()
        return Response(TrainingRunSerializer(run).data)
