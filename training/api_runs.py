"""OpenAI-compatible serving API: ``POST /v1/chat/completions`` and ``GET /v1/models`` (token auth).

``Authorization: Token <key>`` (DRF token of a curator; create one on the Adapters page or with
``manage.py drf_create_token <user>``) — ``Bearer <key>`` is accepted too, as OpenAI clients send it.
"""
from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from refinery.roles import IsCurator

from .serving import ServingError, chat_completion, served_models


class BearerOrTokenAuthentication(TokenAuthentication):
    """``Token <key>`` or ``Bearer <key>`` (OpenAI SDKs send the API key as a bearer token)."""

    def authenticate(self, request):
        auth = request.META.get("HTTP_AUTHORIZATION", "")
        if auth.lower().startswith("bearer "):
            request.META["HTTP_AUTHORIZATION"] = "Token " + auth[7:]
        return super().authenticate(request)


def _openai_error(message: str, code: int, kind: str = "invalid_request_error") -> Response:
    return Response({"error": {"message": message, "type": kind}}, status=code)


class ChatCompletionsView(APIView):
    authentication_classes = [BearerOrTokenAuthentication, SessionAuthentication]
    permission_classes = [IsCurator]

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

    def get(self, request):
        return Response({"object": "list", "data": served_models()})
