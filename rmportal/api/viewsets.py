"""Base viewsets: every API queryset passes through ``restrict`` (STYLE 3)."""
from rest_framework import viewsets

from rmportal.scoping import VIEW


class RestrictedViewSetMixin:
    """Subclasses set ``queryset``; the action decides which restrict() action applies."""

    restrict_actions = {"list": VIEW, "retrieve": VIEW}

    def get_queryset(self):
        action = self.restrict_actions.get(self.action, "change")
        return super().get_queryset().restrict(self.request.user, action)


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass
