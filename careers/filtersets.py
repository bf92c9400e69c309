"""Filters on the career lists, shared by the pages and any API over them (STYLE 4)."""
import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from careers.models import Exit, JobSequence, RiskAlert, RiskBand, RiskScore
from clients.models import Branch, Employee, Region, Role

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _branches(request):
    # Only the branches the user may see can be chosen; another code is an invalid choice.
    if request is None:
        return Branch.objects.none()
    return Branch.objects.restrict(request.user)


class CareerFilterSet(django_filters.FilterSet):
    """Employees on the career lists: records, eligibility, interviews."""

    q = django_filters.CharFilter(label=_("Employee number or name"), method="filter_q")
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), queryset=_branches, to_field_name="code",
                                              empty_label=_("All"))
    sequence = django_filters.ModelChoiceFilter(label=_("Job sequence"), field_name="level__sequence",
                                                queryset=JobSequence.objects.all(), to_field_name="code",
                                                empty_label=_("All"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Employee.Status.choices, empty_label=_("All"))

    class Meta:
        model = Employee
        fields = ["q", "branch", "sequence", "status"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(employee_no__icontains=value) | Q(name__icontains=value))


class ExitFilterSet(django_filters.FilterSet):
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), field_name="employee__branch", queryset=_branches,
                                              to_field_name="code", empty_label=_("All"))
    reason = django_filters.ChoiceFilter(label=_("Reason"), choices=Exit.Reason.choices, empty_label=_("All"))
    voluntary = django_filters.BooleanFilter(label=_("Voluntary"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=Exit.Status.choices, empty_label=_("All"))
    exit_from = django_filters.DateFilter(label=_("Exit from"), field_name="exit_on", lookup_expr="gte",
                                       widget=DATE)
    exit_to = django_filters.DateFilter(label=_("Exit until"), field_name="exit_on", lookup_expr="lte",
                                     widget=DATE)

    class Meta:
        model = Exit
        fields = ["branch", "reason", "voluntary", "status", "exit_from", "exit_to"]


def _regions(request):
    if request is None:
        return Region.objects.none()
    return Region.objects.restrict(request.user).distinct()


class EmployeeFilterSet(CareerFilterSet):
    """Employees of every role (the API's employee list): the career filters, role and region."""

    role = django_filters.ChoiceFilter(label=_("Role"), choices=Role.choices, empty_label=_("All"))
    region = django_filters.ModelChoiceFilter(label=_("Region"), field_name="branch__region", queryset=_regions,
                                              to_field_name="code", empty_label=_("All"))

    class Meta(CareerFilterSet.Meta):
        fields = [*CareerFilterSet.Meta.fields, "role", "region"]


class CareerRecordFilterSet(django_filters.FilterSet):
    """Entries of career records (level history, certificates, trainings, commendations, goals,
    interviews): by employee and branch. Subclasses name the model."""

    employee = django_filters.CharFilter(label=_("Employee number"), field_name="employee__employee_no")
    branch = django_filters.ModelChoiceFilter(label=_("Branch"), field_name="employee__branch", queryset=_branches,
                                              to_field_name="code", empty_label=_("All"))

    class Meta:
        fields = ["employee", "branch"]


def career_record_filterset(model) -> type[CareerRecordFilterSet]:
    meta = type("Meta", (CareerRecordFilterSet.Meta,), {"model": model})
    return type(f"{model.__name__}FilterSet", (CareerRecordFilterSet,), {"Meta": meta})


class RiskScoreFilterSet(CareerRecordFilterSet):
    month = django_filters.DateFilter(label=_("Month"), method="filter_month", help_text=_("YYYY-MM-DD or YYYY-MM"),
                                      input_formats=["%Y-%m", "%Y-%m-%d"])
    band = django_filters.ChoiceFilter(label=_("Band"), choices=RiskBand.choices, empty_label=_("All"))

    class Meta:
        model = RiskScore
        fields = ["employee", "branch", "month", "band"]

    def filter_month(self, queryset, name, value):
        return queryset.filter(month=value.replace(day=1))


class RiskAlertFilterSet(CareerRecordFilterSet):
    status = django_filters.ChoiceFilter(label=_("Status"), choices=RiskAlert.Status.choices, empty_label=_("All"))
    trigger = django_filters.ChoiceFilter(label=_("Trigger"), choices=RiskAlert.Trigger.choices, empty_label=_("All"))

    class Meta:
        model = RiskAlert
        fields = ["employee", "branch", "status", "trigger"]
