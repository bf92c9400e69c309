"""Filters on appraisal lists, shared by the pages and the API (STYLE 4)."""
import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import Branch, Region
from performance.models import Appraisal, BonusStatement, PoolEntry, ScheduledRun, Scheme
from performance.scoring import Grade


def _branches(request):
    # Only what the user may see can be chosen; another code is an invalid choice, never a leak.
    if request is None:
        return Branch.objects.none()
    return Branch.objects.restrict(request.user)


def _regions(request):
    if request is None:
        return Region.objects.none()
    return Region.objects.restrict(request.user).distinct()


class AppraisalFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(label=_("Period"), help_text=_("YYYY-MM, YYYY-Qn or YYYY"))
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_branches, to_field_name="code",
                                              empty_label=_("All"))
    region = django_filters.ModelChoiceFilter(label=_("Region"), field_name="branch__region", queryset=_regions,
                                              to_field_name="code", empty_label=_("All"))
    employee = django_filters.CharFilter(label=_("RM employee number"), field_name="employee__employee_no")
    grade = django_filters.ChoiceFilter(label=_("Grade"), choices=Grade.choices, empty_label=_("All"))
    state = django_filters.ChoiceFilter(label=_("State"), choices=Appraisal.State.choices, empty_label=_("All"))
    missing = django_filters.BooleanFilter(
        label=_("Missing inputs"), method="filter_missing",
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]))

    class Meta:
        model = Appraisal
        fields = ["period", "branch", "region", "employee", "grade", "state", "missing"]

    def filter_missing(self, queryset, name, value):
        """Computed appraisals waiting for a target or a manual score (as ``selectors.progress`` counts them)."""
        waiting = Q(state=Appraisal.State.COMPUTED) & ~Q(missing=[])
        return queryset.filter(waiting) if value else queryset.exclude(waiting)


class SchemeFilterSet(django_filters.FilterSet):
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_branches, to_field_name="code",
                                              empty_label=_("All"))
    is_active = django_filters.BooleanFilter(label=_("Active"))

    class Meta:
        model = Scheme
        fields = ["branch", "is_active"]


class BonusStatementFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(label=_("Period"), help_text=_("YYYY-MM, YYYY-Qn or YYYY"))
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_branches, to_field_name="code",
                                              empty_label=_("All"))
    region = django_filters.ModelChoiceFilter(label=_("Region"), field_name="branch__region", queryset=_regions,
                                              to_field_name="code", empty_label=_("All"))
    employee = django_filters.CharFilter(label=_("RM employee number"), field_name="employee__employee_no")

    class Meta:
        model = BonusStatement
        fields = ["period", "branch", "region", "employee"]


class PoolEntryFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(label=_("Period"), help_text=_("YYYY-MM, YYYY-Qn or YYYY"))
    branch = django_filters.ModelChoiceFilter(label=_("Unit"), field_name="pool__branch", queryset=_branches,
                                              to_field_name="code", empty_label=_("All"))
    employee = django_filters.CharFilter(label=_("RM employee number"), field_name="employee__employee_no")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=PoolEntry.Kind.choices, empty_label=_("All"))

    class Meta:
        model = PoolEntry
        fields = ["period", "branch", "employee", "kind"]


class ScheduledRunFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("Job"), choices=ScheduledRun.Kind.choices, empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ScheduledRun.Status.choices,
                                         empty_label=_("All"))
    key = django_filters.CharFilter(label=_("Period or month"))

    class Meta:
        model = ScheduledRun
        fields = ["kind", "status", "key"]
