"""API representations of the organisation, clients and their contributions (DOMAIN 1, 2)."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from careers.api.serializers import LevelRefSerializer
from clients.contribution import ContributionMethod
from clients.models import Assignment, Branch, Client, Employee, Region
from core.money import MoneyAPIField
from rmportal.api.fields import MonthField


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name"]


class BranchSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Region code."))
    region_name = serializers.CharField(source="region.name", read_only=True)

    class Meta:
        model = Branch
        fields = ["id", "code", "name", "region", "region_name"]


class EmployeeSerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Branch code."))
    level = LevelRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Employee
        fields = ["id", "employee_no", "name", "branch", "role", "status", "hired_on", "left_on", "email", "level"]


class AssignmentSerializer(serializers.ModelSerializer):
    rm = serializers.SlugRelatedField(slug_field="employee_no", read_only=True,
                                      help_text=_("Employee number of the RM."))
    rm_name = serializers.CharField(source="rm.name", read_only=True)

    class Meta:
        model = Assignment
        fields = ["rm", "rm_name", "started_on", "ended_on", "reason", "note"]


class ClientSerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Branch code."))
    rm = serializers.SerializerMethodField(help_text=_("Employee number of the RM responsible now."))
    assignments = AssignmentSerializer(many=True, read_only=True,
                                       help_text=_("Who was responsible for the client, oldest first."))

    class Meta:
        model = Client
        fields = ["id", "client_no", "name", "client_type", "segment", "branch", "status", "opened_on", "lost_on",
                  "lost_reason", "rm", "assignments"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_rm(self, client) -> str | None:
        # From the prefetched assignments: no query per client.
        current = next((a for a in client.assignments.all() if a.ended_on is None), None)
        return current.rm.employee_no if current else None


class ContributionQuerySerializer(serializers.Serializer):
    month = MonthField(help_text=_("The month, YYYY-MM."))
    method = serializers.ChoiceField(
        choices=ContributionMethod.choices, default=ContributionMethod.PROFIT,
        help_text=_("1 volume, 2 revenue, 3 profit contribution (the default, as on the client page), 4 EVA."))


class ContributionSerializer(serializers.Serializer):
    """A client's stored contribution of a month under one method (DOMAIN 2.2)."""

    client_no = serializers.CharField()
    month = MonthField()
    method = serializers.IntegerField()
    loan = MoneyAPIField()
    deposit = MoneyAPIField()
    wm = MoneyAPIField()
    card = MoneyAPIField()
    total = MoneyAPIField()
    capital_charge = MoneyAPIField(
        required=False,
        help_text=_("Method 4 only: the capital charge already taken off the loan component."))
