"""API representations of career records, exits and retention risk (DOMAIN 4, 5)."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from careers.models import (CareerGoal, CareerInterview, Certificate, Commendation, Exit, ExitHandover, Level,
                            LevelChange, RiskAlert, RiskScore, Training)
from rmportal.api.fields import MonthField


def _employee_no():
    return serializers.SlugRelatedField(slug_field="employee_no", read_only=True,
                                        help_text=_("Employee number."))


def _branch_code(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Branch code."), **kwargs)


class LevelRefSerializer(serializers.ModelSerializer):
    sequence = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Job sequence code."))

    class Meta:
        model = Level
        fields = ["sequence", "code", "name", "rank"]
        ref_name = "LevelRef"


class LevelChangeSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    from_level = LevelRefSerializer(read_only=True, allow_null=True)
    to_level = LevelRefSerializer(read_only=True, allow_null=True)
    from_branch = _branch_code(allow_null=True)
    to_branch = _branch_code(allow_null=True)

    class Meta:
        model = LevelChange
        fields = ["id", "employee", "kind", "effective_on", "from_level", "to_level", "from_branch", "to_branch",
                  "note"]


class CertificateSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    certificate = serializers.SlugRelatedField(source="certificate_type", slug_field="code", read_only=True,
                                               help_text=_("Certificate code."))
    certificate_name = serializers.CharField(source="certificate_type.name", read_only=True)

    class Meta:
        model = Certificate
        fields = ["id", "employee", "certificate", "certificate_name", "obtained_on", "expires_on", "number"]


class TrainingSerializer(serializers.ModelSerializer):
    employee = _employee_no()

    class Meta:
        model = Training
        fields = ["id", "employee", "title", "completed_on", "hours"]


class CommendationSerializer(serializers.ModelSerializer):
    employee = _employee_no()

    class Meta:
        model = Commendation
        fields = ["id", "employee", "title", "awarded_on", "awarded_by"]


class CareerGoalSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    target_level = LevelRefSerializer(read_only=True)

    class Meta:
        model = CareerGoal
        fields = ["id", "employee", "target_level", "target_date", "actions", "status", "created_on"]


class CareerInterviewSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    interviewer = serializers.SlugRelatedField(slug_field="employee_no", read_only=True, allow_null=True,
                                               help_text=_("Employee number of the interviewer."))

    class Meta:
        model = CareerInterview
        fields = ["id", "employee", "scheduled_on", "held_on", "interviewer", "notes", "outcome", "revised_goals"]


class ExitHandoverSerializer(serializers.ModelSerializer):
    client = serializers.SlugRelatedField(slug_field="client_no", read_only=True, help_text=_("Client number."))
    to_rm = serializers.SlugRelatedField(slug_field="employee_no", read_only=True,
                                         help_text=_("Employee number of the RM who took the client over."))

    class Meta:
        model = ExitHandover
        fields = ["client", "to_rm", "handed_over_on"]


class ExitSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    employee_name = serializers.CharField(source="employee.name", read_only=True)
    branch = _branch_code(source="employee.branch")
    handovers = ExitHandoverSerializer(many=True, read_only=True, help_text=_("The clients handed over."))

    class Meta:
        model = Exit
        fields = ["id", "employee", "employee_name", "branch", "exit_on", "voluntary", "reason", "destination",
                  "interview_notes", "status", "completed_at", "handovers"]


class RiskScoreSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    branch = _branch_code(source="employee.branch")
    month = MonthField()
    factors = serializers.JSONField(help_text=_("Each factor's value 0–1, its weight and the figures behind it."))

    class Meta:
        model = RiskScore
        fields = ["id", "employee", "branch", "month", "score", "band", "factors", "computed_at"]


class RiskAlertSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    branch = _branch_code(source="employee.branch")
    month = MonthField(source="score.month")
    score = serializers.DecimalField(source="score.score", max_digits=5, decimal_places=2, read_only=True)
    score_id = serializers.IntegerField(read_only=True)
    handled_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RiskAlert
        fields = ["id", "employee", "branch", "month", "score", "score_id", "trigger", "previous_score",
                  "suggested_action", "status", "opened_at", "acknowledged_at", "snoozed_until", "resolved_at",
                  "action_note", "handled_by"]
