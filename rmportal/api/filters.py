"""The filter backend of the API: the shared FilterSets (STYLE 4), with the pages' rule that a
branch or region the user may not see matches nothing."""
import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import translate_validation


class ScopedFilterBackend(DjangoFilterBackend):
    """Choice filters over restricted querysets (branch, region) accept only what the user may
    see. A code outside it answers an empty list, as the pages do, rather than an error that would
    tell an existing code from an unknown one. Any other invalid filter value is a 400."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            if all(isinstance(filterset.filters.get(name), django_filters.ModelChoiceFilter)
                   for name in filterset.errors):
                return queryset.none()
            raise translate_validation(filterset.errors)
        return filterset.qs
