"""Filters on client lists, shared by the pages and the API (STYLE 4)."""
import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.models import Branch, Client, Complaint, Region, StatementFlag
from clients.statements import RULES

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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
    lost_from = django_filters.DateFilter(label=_("Lost from"), field_name="lost_on", lookup_expr="gte",
                                          widget=DATE)
    lost_to = django_filters.DateFilter(label=_("Lost until"), field_name="lost_on", lookup_expr="lte",
                                        widget=DATE)

    class Meta:
        model = Client
        fields = ["q", "segment", "client_type", "status", "branch", "rm", "lost_from", "lost_to"]

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


class ComplaintFilterSet(django_filters.FilterSet):
    """Complaints: open, overdue (open past their response deadline) or resolved (DOMAIN 2)."""

    OPEN, OVERDUE, RESOLVED = "open", "overdue", "resolved"

    branch = django_filters.ModelChoiceFilter(label=_("Branch"), field_name="client__branch", queryset=_branches,
                                              to_field_name="code", empty_label=_("All"))
    state = django_filters.ChoiceFilter(
        label=_("State"), method="filter_state", empty_label=_("All"),
        choices=[(OPEN, _("Open")), (OVERDUE, _("Open past the deadline")), (RESOLVED, _("Resolved"))])
    rm = django_filters.CharFilter(label=_("RM employee number"), field_name="rm__employee_no")

    class Meta:
        model = Complaint
        fields = ["branch", "state", "rm"]

    def filter_state(self, queryset, name, value):
        if value == self.RESOLVED:
            return queryset.filter(resolved_at__isnull=False)
        queryset = queryset.filter(resolved_at__isnull=True)
        return queryset.filter(due_at__lt=timezone.now()) if value == self.OVERDUE else queryset


class StatementFlagClientFilterSet(django_filters.FilterSet):
    """Credit clients with open statement flags (DOMAIN 2.3): by client, branch, RM, the severity
    and the check of their open flags."""

    q = django_filters.CharFilter(label=_("Client number or name"), method="filter_q")
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_branches, to_field_name="code",
                                              empty_label=_("All"))
    rm = django_filters.CharFilter(label=_("RM employee number"), method="filter_rm")
    severity = django_filters.ChoiceFilter(label=_("Open flags of severity"), choices=StatementFlag.Severity.choices,
                                           method="filter_open", empty_label=_("All"))
    rule = django_filters.ChoiceFilter(label=_("Open flags of the check"),
                                       choices=[(code, rule.label) for code, rule in RULES.items()],
                                       method="filter_open", empty_label=_("All"))

    class Meta:
        model = Client
        fields = ["q", "branch", "rm", "severity", "rule"]

    filter_q = ClientFilterSet.filter_q
    filter_rm = ClientFilterSet.filter_rm

    def filter_open(self, queryset, name, value):
        if not value:
            return queryset
        flags = StatementFlag.objects.filter(client=OuterRef("pk"), status=StatementFlag.Status.OPEN,
                                             **{name: value})
        return queryset.filter(Exists(flags))
