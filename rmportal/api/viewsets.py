"""Base viewsets: every API queryset passes through ``restrict`` (STYLE 3)."""
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import viewsets

from rmportal.scoping import VIEW


class RestrictedViewSetMixin:
    """Subclasses set ``queryset``; the action decides which restrict() action applies.

    Actions that change an object (``submit``, ``approve`` …) are listed in ``restrict_actions``
    as VIEW: the object is looked up among those the user may see (404 otherwise) and the
    service then decides whether the user's role may take the step (403 otherwise).
    """

    restrict_actions = {"list": VIEW, "retrieve": VIEW}
    # Any one path segment reaches the view, so that a malformed id is answered 404 in the
    # API's error shape rather than by the site's HTML page.
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        action = self.restrict_actions.get(self.action, "change")
        return super().get_queryset().restrict(self.request.user, action)


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class BusinessKeyLookupMixin:
    """Objects are addressed by their business key (``lookup_field``: employee_no, client_no,
    branch code …); a key that matches nothing but is a whole number is tried as the id, so
    that ids given by other endpoints work too. The key wins when both could match."""

    lookup_value_regex = "[^/]+"  # keys may hold dots

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        if "\x00" in value:  # no key holds it, and the database refuses to compare it
            raise Http404
        obj = queryset.filter(**{self.lookup_field: value}).first()
        if obj is None and value.isascii() and value.isdigit() and len(value) < 19:
            obj = get_object_or_404(queryset, pk=int(value))
        if obj is None:
            raise Http404
        self.check_object_permissions(self.request, obj)
        return obj
