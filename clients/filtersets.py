"""Filters on client lists, shared by the pages and the API (STYLE 4)."""
import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import Branch, Client, Region


def _branches(request):
    # Only the branches the user may see can be chosen; another code is an invalid choice.
    if request is None:
        return Branch.objects.none()
    return Branch.objects.restrict(request.user)


class ClientFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Client number or name"), method="filter_q")
    segment = django_filters.ChoiceFilter(label=_("Segment"), choices=Client.Segment.choices,
                                          empty_label=_("All"))
    client_type = django_filters.ChoiceFilter(label=_("Client type"), choices=Client.Type.choices,
                                              empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Client.Status.choices, empty_label=_("All"))
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_branches, to_field_name="code",
                                              empty_label=_("All"))
    rm = django_filters.CharFilter(label=_("RM employee number"), method="filter_rm")

    class Meta:
        model = Client
        fields = ["q", "segment", "client_type", "status", "branch", "rm"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(client_no__icontains=value) | Q(name__icontains=value))

    def filter_rm(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # One filter() call, so that both conditions hold for the same (open) assignment.
        return queryset.filter(assignments__rm__employee_no=value, assignments__ended_on__isnull=True)


def _regions(request):
    if request is None:
        return Region.objects.none()
    return Region.objects.restrict(request.user).distinct()


class BranchFilterSet(django_filters.FilterSet):
    region = django_filters.ModelChoiceFilter(label=_("Region"), queryset=_regions, to_field_name="code",
                                              empty_label=_("All"))

    class Meta:
        model = Branch
        fields = ["region"]
