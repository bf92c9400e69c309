"""API representations of schemes, appraisals, bonus and the performance pool (DOMAIN 3).

Appraisal figures are the stored ones: an approved or published appraisal is frozen by the run
(DOMAIN 3.3), and the API never recomputes it, so it answers the same numbers every time.
"""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.money import MoneyModelSerializer
from performance.models import (Appraisal, AppraisalLine, BonusStatement, Indicator, PerformancePool, PoolEntry,
                                ScheduledRun, Scheme)
from performance.scoring import Grade

PERIOD_KINDS = ("month", "quarter", "year")


def _employee_no(**kwargs):
    return serializers.SlugRelatedField(slug_field="employee_no", read_only=True,
                                        help_text=_("Employee number."), **kwargs)


def _branch_code(**kwargs):
    return serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Branch code."), **kwargs)


def _username(**kwargs):
    return serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True, **kwargs)


# --- schemes ------------------------------------------------------------------------------------

class GradeCoefficientsSerializer(serializers.Serializer):
    excellent = serializers.DecimalField(source="coefficient_excellent", max_digits=8, decimal_places=4)
    good = serializers.DecimalField(source="coefficient_good", max_digits=8, decimal_places=4)
    # "pass" is a keyword: declared through the fields mapping below.
    basic = serializers.DecimalField(source="coefficient_basic", max_digits=8, decimal_places=4)
    fail = serializers.DecimalField(source="coefficient_fail", max_digits=8, decimal_places=4)

    def get_fields(self):
        fields = super().get_fields()
        fields["pass"] = serializers.DecimalField(source="coefficient_pass", max_digits=8, decimal_places=4)
        return {grade: fields[grade] for grade in Grade.values}


class IndicatorSerializer(serializers.ModelSerializer):
    bands = serializers.JSONField(help_text=_("For the bands method: [threshold, fraction of the weight] pairs."))
    periods = serializers.SerializerMethodField(help_text=_("The kinds of period the indicator applies to."))

    class Meta:
        model = Indicator
        fields = ["code", "name", "position", "category", "source", "metric", "weight", "method", "target", "cap",
                  "ceiling", "bands", "periods"]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=PERIOD_KINDS)))
    def get_periods(self, indicator) -> list[str]:
        return [kind for kind in PERIOD_KINDS if indicator.applies_to(kind)]


class SchemeSerializer(serializers.ModelSerializer):
    branch = _branch_code(allow_null=True)
    grade_coefficients = GradeCoefficientsSerializer(source="*", read_only=True)
    indicators = IndicatorSerializer(many=True, read_only=True)

    class Meta:
        model = Scheme
        fields = ["id", "code", "name", "branch", "is_active", "contribution_method", "pool_rate",
                  "grade_coefficients", "warning_consecutive_fails", "exit_review_fails",
                  "exit_review_window_quarters", "promotion_excellent_years", "indicators"]


# --- appraisals ---------------------------------------------------------------------------------

class AppraisalLineSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator.code", read_only=True, help_text=_("Indicator code."))
    name = serializers.CharField(source="indicator.name", read_only=True)
    category = serializers.ChoiceField(source="indicator.category", choices=Indicator.Category.choices,
                                       read_only=True)
    method = serializers.CharField(source="indicator.method", read_only=True)

    class Meta:
        model = AppraisalLine
        fields = ["indicator", "name", "category", "method", "weight", "actual", "target", "manual_score", "points"]
        extra_kwargs = {
            "weight": {"help_text": _("Effective weight: rescaled so that the period's indicators add up to 100.")},
            "points": {"help_text": _("Points, unrounded; null while a target or manual score is missing.")},
        }


class MissingInputSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    name = serializers.CharField()
    missing = serializers.ChoiceField(choices=["target", "manual"])


class AppraisalSerializer(serializers.ModelSerializer):
    employee = _employee_no()
    employee_name = serializers.CharField(source="employee.name", read_only=True)
    branch = _branch_code()
    scheme = serializers.SlugRelatedField(slug_field="code", read_only=True, help_text=_("Scheme code."))
    missing = MissingInputSerializer(many=True, read_only=True,
                                     help_text=_("Targets and manual scores still missing; they block submission."))
    lines = AppraisalLineSerializer(many=True, read_only=True)

    class Meta:
        model = Appraisal
        fields = ["id", "employee", "employee_name", "branch", "scheme", "period", "period_kind", "state", "total",
                  "grade", "missing", "computed_at", "published_at", "appealed", "comment", "lines"]


class HistoryEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True, help_text=_("Employee number (or user name) of who made the change; "
                                                            "null for a scheduled run."))
    state = serializers.ChoiceField(choices=Appraisal.State.choices)
    total = serializers.DecimalField(max_digits=5, decimal_places=2)
    grade = serializers.CharField(help_text=_("Grade, blank before the first computation."))
    reason = serializers.CharField(help_text=_("Why: the comment or reason given with the change."))


HISTORY_FIELDS = ("state", "total", "grade")


def appraisal_state_history(appraisal: Appraisal) -> list[dict]:
    """The appraisal's changes of state, total or grade, oldest first, with who, when and why."""
    records = appraisal.history.select_related("history_user__employee").order_by("history_date", "history_id")
    entries, previous = [], None
    for record in records:
        values = tuple(getattr(record, name) for name in HISTORY_FIELDS)
        if values == previous:
            continue
        previous = values
        user = record.history_user
        employee = getattr(user, "employee", None) if user is not None else None
        entries.append({
            "at": record.history_date,
            "by": employee.employee_no if employee is not None else (user.username if user is not None else None),
            "state": record.state, "total": record.total, "grade": record.grade,
            "reason": record.history_change_reason or "",
        })
    return entries


class AppraisalDetailSerializer(AppraisalSerializer):
    history = serializers.SerializerMethodField(
        help_text=_("Every change of state, total or grade, oldest first. A reopened appraisal shows here the "
                    "figures it was approved with."))

    class Meta(AppraisalSerializer.Meta):
        fields = [*AppraisalSerializer.Meta.fields, "history"]

    @extend_schema_field(HistoryEntrySerializer(many=True))
    def get_history(self, appraisal) -> list[dict]:
        return HistoryEntrySerializer(appraisal_state_history(appraisal), many=True).data


class ManualScoreSerializer(serializers.Serializer):
    indicator = serializers.CharField(max_length=40, help_text=_("Code of a manual indicator of the appraisal."))
    score = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0,
                                     help_text=_("0 … the indicator's weight, at most two decimals."))
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class DecisionSerializer(serializers.Serializer):
    approve = serializers.BooleanField(
        help_text=_("true passes the appraisal on; false sends it back to the branch (a comment saying why is "
                    "then required)."))
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text=_("Why the approved appraisal is reopened."))


class AppealSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, help_text=_("What the appeal is about."))


# --- bonus and the pool -------------------------------------------------------------------------

class BonusStatementSerializer(MoneyModelSerializer):
    employee = _employee_no()
    employee_name = serializers.CharField(source="employee.name", read_only=True)
    branch = _branch_code()

    class Meta:
        model = BonusStatement
        fields = ["id", "employee", "employee_name", "branch", "period", "appraisal", "level_coefficient",
                  "grade_coefficient", "bonus", "withheld", "paid", "computed_at"]


class PerformancePoolSerializer(MoneyModelSerializer):
    branch = _branch_code()
    branch_name = serializers.CharField(source="branch.name", read_only=True)

    class Meta:
        model = PerformancePool
        fields = ["id", "branch", "branch_name", "balance"]


class PoolEntrySerializer(MoneyModelSerializer):
    branch = _branch_code(source="pool.branch")
    employee = _employee_no()
    created_by = _username()

    class Meta:
        model = PoolEntry
        fields = ["id", "branch", "kind", "amount", "period", "employee", "reason", "justification", "reverses",
                  "bonus", "balance_after", "created_at", "created_by"]


class ScheduledRunSerializer(serializers.ModelSerializer):
    triggered_by = _username()
    branches_done = serializers.JSONField(help_text=_("Codes of the branches done."))
    failures = serializers.JSONField(help_text=_("Branch code → what went wrong."))

    class Meta:
        model = ScheduledRun
        fields = ["id", "kind", "key", "status", "started_at", "finished_at", "branches_total", "branches_done",
                  "failures", "triggered_by"]
