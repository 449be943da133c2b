"""Create the role groups (and give them model permissions) after every migrate."""
from django.apps import apps as django_apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from . import roles

DOMAIN_APPS = ("refinery", "curation", "annotation", "training")


def ensure_role_groups() -> None:
    from django.contrib.auth.models import Group, Permission

    admin, _ = Group.objects.get_or_create(name=roles.ADMIN)
    curator, _ = Group.objects.get_or_create(name=roles.CURATOR)
    annotator, _ = Group.objects.get_or_create(name=roles.ANNOTATOR)
    domain = Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS)
    admin.permissions.set(Permission.objects.all())
    curator.permissions.set(domain)
    # Annotators only view annotation objects and change their own annotations (row rules in selectors).
    annotator.permissions.set(
        Permission.objects.filter(content_type__app_label="annotation").filter(
            codename__regex=r"^(view_|add_annotation|change_annotation)"
        )
    )


@receiver(post_migrate)
def _groups_after_migrate(sender, **kwargs):
    if sender.label == "refinery" and django_apps.is_installed("django.contrib.auth"):
        ensure_role_groups()
