"""Read-only API over career records, exits and retention risk (DOMAIN 4, 5).

Rows come through ``restrict`` like the pages: an RM sees their own career record and no exit or
risk data at all; branch roles their branch; reviewers their region; HR the bank.
"""
from django.db.models import Prefetch
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from careers.api import serializers
from careers.filtersets import (ExitFilterSet, RiskAlertFilterSet, RiskScoreFilterSet,
                                career_record_filterset)
from careers.models import (CareerGoal, CareerInterview, Certificate, Commendation, Exit, ExitHandover, LevelChange,
                            RiskAlert, RiskScore, Training)
from rmportal.api.schema import read_only_docs
from rmportal.api.viewsets import RestrictedReadOnlyViewSet

CAREERS = "careers"
RISK = "retention-risk"
RECORD = _("Filter by employee (employee number) and branch (code). An RM sees only their own record.")


@read_only_docs(tag=CAREERS, list_summary=_("List level changes"), retrieve_summary=_("Get a level change"),
                description=format_lazy("{} {}", _("Level history: hire, promotion, demotion, transfer, exit."),
                                        RECORD))
class LevelChangeViewSet(RestrictedReadOnlyViewSet):
    queryset = LevelChange.objects.select_related(
        "employee", "from_level__sequence", "to_level__sequence", "from_branch", "to_branch").order_by(
        "employee__employee_no", "effective_on", "id")
    serializer_class = serializers.LevelChangeSerializer
    filterset_class = career_record_filterset(LevelChange)


@read_only_docs(tag=CAREERS, list_summary=_("List certificates"), retrieve_summary=_("Get a certificate"),
                description=format_lazy("{} {}", _("Professional certificates held, with expiry."), RECORD))
class CertificateViewSet(RestrictedReadOnlyViewSet):
    queryset = Certificate.objects.select_related("employee", "certificate_type").order_by(
        "employee__employee_no", "-obtained_on", "id")
    serializer_class = serializers.CertificateSerializer
    filterset_class = career_record_filterset(Certificate)


@read_only_docs(tag=CAREERS, list_summary=_("List trainings"), retrieve_summary=_("Get a training"),
                description=format_lazy("{} {}", _("Courses completed and their hours."), RECORD))
class TrainingViewSet(RestrictedReadOnlyViewSet):
    queryset = Training.objects.select_related("employee").order_by("employee__employee_no", "-completed_on", "id")
    serializer_class = serializers.TrainingSerializer
    filterset_class = career_record_filterset(Training)


@read_only_docs(tag=CAREERS, list_summary=_("List commendations"), retrieve_summary=_("Get a commendation"),
                description=format_lazy("{} {}", _("Commendations awarded."), RECORD))
class CommendationViewSet(RestrictedReadOnlyViewSet):
    queryset = Commendation.objects.select_related("employee").order_by("employee__employee_no", "-awarded_on", "id")
    serializer_class = serializers.CommendationSerializer
    filterset_class = career_record_filterset(Commendation)


@read_only_docs(tag=CAREERS, list_summary=_("List career goals"), retrieve_summary=_("Get a career goal"),
                description=format_lazy("{} {}", _("Career goals: target level and date, actions, status."), RECORD))
class CareerGoalViewSet(RestrictedReadOnlyViewSet):
    queryset = CareerGoal.objects.select_related("employee", "target_level__sequence").order_by(
        "employee__employee_no", "-created_on", "id")
    serializer_class = serializers.CareerGoalSerializer
    filterset_class = career_record_filterset(CareerGoal)


@read_only_docs(tag=CAREERS, list_summary=_("List career interviews"), retrieve_summary=_("Get a career interview"),
                description=format_lazy("{} {}", _("Regular career interviews, scheduled and held, with notes and "
                                                   "outcome."), RECORD))
class CareerInterviewViewSet(RestrictedReadOnlyViewSet):
    queryset = CareerInterview.objects.select_related("employee", "interviewer").order_by(
        "employee__employee_no", "-scheduled_on", "id")
    serializer_class = serializers.CareerInterviewSerializer
    filterset_class = career_record_filterset(CareerInterview)


@read_only_docs(tag=CAREERS, list_summary=_("List exits"), retrieve_summary=_("Get an exit"),
                description=_("Employees who left or are leaving, with the reason and the clients handed over. "
                              "Not shown to RMs."))
class ExitViewSet(RestrictedReadOnlyViewSet):
    queryset = Exit.objects.select_related("employee__branch").order_by("-exit_on", "id")
    serializer_class = serializers.ExitSerializer
    filterset_class = ExitFilterSet

    def get_queryset(self):
        handovers = (ExitHandover.objects.restrict(self.request.user)
                     .select_related("client", "to_rm").order_by("client__client_no"))
        return super().get_queryset().prefetch_related(Prefetch("handovers", queryset=handovers))


@read_only_docs(tag=RISK, list_summary=_("List retention-risk scores"),
                retrieve_summary=_("Get a retention-risk score"),
                description=_("Monthly retention-risk scores of active RMs, 0–100, with each factor and the data "
                              "behind it. Never shown to RMs; branch managers see their branch, HR the bank. "
                              "Filter by employee, branch, month (YYYY-MM) and band."))
class RiskScoreViewSet(RestrictedReadOnlyViewSet):
    queryset = RiskScore.objects.select_related("employee__branch").order_by("-month", "-score", "id")
    serializer_class = serializers.RiskScoreSerializer
    filterset_class = RiskScoreFilterSet


@read_only_docs(tag=RISK, list_summary=_("List retention-risk alerts"),
                retrieve_summary=_("Get a retention-risk alert"),
                description=_("Alerts opened when an RM entered the high band or rose sharply in a month. "
                              "Never shown to RMs. Filter by employee, branch, status and trigger."))
class RiskAlertViewSet(RestrictedReadOnlyViewSet):
    queryset = RiskAlert.objects.select_related("employee__branch", "score", "handled_by").order_by("-opened_at", "id")
    serializer_class = serializers.RiskAlertSerializer
    filterset_class = RiskAlertFilterSet
