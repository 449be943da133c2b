"""Who is acting right now: set by middleware for web requests, by `acting_as` for jobs and CLI.

`AuditedModel` (refinery.models) reads it to fill created_by / updated_by and to write AuditEvent rows.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

_current_user: contextvars.ContextVar = contextvars.ContextVar("refinery_current_user", default=None)


def current_user():
    user = _current_user.get()
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


@contextlib.contextmanager
def acting_as(user) -> Iterator[None]:
    """Attribute every audited write inside the block to ``user`` (a job's creator, a CLI user)."""
    token = _current_user.set(user)
    try:
        yield
    finally:
        _current_user.reset(token)


class AuditUserMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_user.set(getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _current_user.reset(token)
