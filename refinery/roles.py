"""Roles: admin ⊇ curator ⊇ (annotation management); annotator = own labelling queue only.

Single source of truth for role checks in pages (decorator / mixin), the REST API (permission
classes) and templates (context processor). Row-level rules ("annotators see only their own
tasks") live in each app's selectors, which take the requesting user.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

ADMIN = "admin"
CURATOR = "curator"
ANNOTATOR = "annotator"
ROLES = (ADMIN, CURATOR, ANNOTATOR)
# Higher roles include the rights of lower ones where it makes sense: an admin can do what a
# curator can; curators can label too (they adjudicate), so they pass annotator checks.
_IMPLIES = {ADMIN: {ADMIN, CURATOR, ANNOTATOR}, CURATOR: {CURATOR, ANNOTATOR}, ANNOTATOR: {ANNOTATOR}}


def user_role(user) -> str | None:
    """The highest role of ``user`` (None for anonymous users and users in no group)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    cache = getattr(user, "_refinery_role", False)
    if cache is not False:
        return cache
    names = set(user.groups.values_list("name", flat=True))
    role = next((r for r in ROLES if r in names), None)
    user._refinery_role = role
    return role


def has_role(user, *roles: str) -> bool:
    role = user_role(user)
    return role is not None and bool(_IMPLIES[role] & set(roles))


def is_curator(user) -> bool:
    return has_role(user, CURATOR)


def is_admin(user) -> bool:
    return has_role(user, ADMIN)


def require_role(user, *roles: str) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied(f"This needs the {' or '.join(roles)} role.")


def role_required(*roles: str):
    """View decorator: 403 unless the logged-in user has one of ``roles`` (login is global)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            require_role(request.user, *roles)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class RoleRequiredMixin(AccessMixin):
    """Class-based view mixin: set ``allowed_roles``."""

    allowed_roles: tuple[str, ...] = (CURATOR,)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        require_role(request.user, *self.allowed_roles)
        return super().dispatch(request, *args, **kwargs)


class HasRole(BasePermission):
    """DRF permission: subclass with ``roles`` or use ``IsCurator`` / ``IsAnnotator`` / ``IsAdmin``."""

    roles: tuple[str, ...] = (CURATOR,)
    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, *self.roles)


class IsAdmin(HasRole):
    roles = (ADMIN,)


class IsCurator(HasRole):
    roles = (CURATOR,)


class IsAnnotator(HasRole):
    roles = (ANNOTATOR,)


def role_context(request) -> dict:
    user = getattr(request, "user", None)
    role = user_role(user) if user is not None else None
    return {
        "role": role,
        "is_admin_role": role == ADMIN,
        "is_curator_role": role in (ADMIN, CURATOR),
        "is_annotator_role": role is not None,
    }
