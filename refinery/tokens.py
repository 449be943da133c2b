"""API tokens (DRF ``Authorization: Token <key>``): every logged-in user can get and rotate their own.

A token acts as its user: it grants exactly what the user's role allows (an annotator's token still
sees only their own assignments and jobs). Page: ``/account/token/``; API: ``POST /api/auth/token/``
with username + password returns the current token.
"""
from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import audit_log


def api_token_get(*, user) -> Token | None:
    return Token.objects.filter(user=user).first()


def api_token_get_or_create(*, user) -> Token:
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit_log(obj=user, action="api_token_create", user=user, summary=f"{user.username}: API token created")
    return token


def api_token_rotate(*, user) -> Token:
    """Replace the user's token: the old key stops working at once."""
    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        audit_log(obj=user, action="api_token_rotate", user=user, summary=f"{user.username}: API token replaced")
    return token
