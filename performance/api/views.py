"""API over schemes, appraisals (with the workflow steps as actions), bonus statements, the
performance pool and scheduled runs (DOMAIN 3).

Reads serve the stored figures and never recompute. Each workflow step looks the appraisal up
among those the user may see (404 otherwise), refuses roles that may not take the step (403),
then calls the service in performance.workflow, whose broken rules answer 400.
"""
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from performance import workflow
from performance.api import serializers
from performance.filtersets import (AppraisalFilterSet, BonusStatementFilterSet, PoolEntryFilterSet,
                                    ScheduledRunFilterSet, SchemeFilterSet)
from performance.models import (Appraisal, AppraisalLine, BonusStatement, Indicator, PerformancePool, PoolEntry,
                                ScheduledRun, Scheme)
from rmportal import scoping
from rmportal.api.schema import read_only_docs
from rmportal.api.viewsets import BusinessKeyLookupMixin, RestrictedReadOnlyViewSet, RestrictedViewSetMixin
from rmportal.scoping import VIEW

PERFORMANCE = "performance"
APPRAISALS = "appraisals"


@read_only_docs(tag=PERFORMANCE, list_summary=_("List appraisal schemes"),
                retrieve_summary=_("Get an appraisal scheme"),
                description=_("Schemes with their indicators: category, source, weight, scoring method, default "
                              "target and the periods each applies to. Filter by branch (code) and is_active."))
class SchemeViewSet(RestrictedReadOnlyViewSet):
    queryset = Scheme.objects.select_related("branch").order_by("code")
    serializer_class = serializers.SchemeSerializer
    filterset_class = SchemeFilterSet

    def get_queryset(self):
        indicators = Indicator.objects.restrict(self.request.user).order_by("position", "id")
        return super().get_queryset().prefetch_related(Prefetch("indicators", queryset=indicators))


APPRAISAL_EXAMPLE = OpenApiExample(
    "approved", summary=_("An approved quarterly appraisal"),
    response_only=True,
    value={
        "id": 41, "employee": "RM001", "employee_name": "Li Na", "branch": "B01", "scheme": "B01-2026",
        "period": "2026-Q1", "period_kind": "quarter", "state": "approved", "total": "86.43", "grade": "good",
        "missing": [], "computed_at": "2026-04-02T01:00:00+08:00", "published_at": None, "appealed": False,
        "comment": "",
        "lines": [{"indicator": "dep", "name": "存款日均新增", "category": "performance", "method": "ratio",
                   "weight": "42.857143", "actual": "50000.000000", "target": "10000.000000",
                   "manual_score": None, "points": "42.8571430000"}],
        "history": [{"at": "2026-04-02T01:00:00+08:00", "by": None, "state": "computed", "total": "86.43",
                     "grade": "good", "reason": "computed"},
                    {"at": "2026-04-10T09:12:00+08:00", "by": "HR001", "state": "approved", "total": "86.43",
                     "grade": "good", "reason": "approved"}],
    },
)


def _step(summary, description, request=None, examples=()):
    return extend_schema(summary=summary, description=description, request=request,
                         responses={200: serializers.AppraisalDetailSerializer}, tags=[APPRAISALS],
                         examples=list(examples))


@extend_schema_view(
    list=extend_schema(
        summary=_("List appraisals"), tags=[APPRAISALS],
        description=_("Appraisals the user may see, with their indicator lines; an RM sees only their own "
                      "published ones. Filter by period (YYYY-MM, YYYY-Qn, YYYY), branch, region, employee, "
                      "grade and state. Figures are stored: approved and published appraisals never change "
                      "unless reopened.")),
    retrieve=extend_schema(
        summary=_("Get an appraisal"), tags=[APPRAISALS], examples=[APPRAISAL_EXAMPLE],
        description=_("One appraisal with its indicator lines and its history of state, total and grade.")),
    score=_step(_("Enter a manual score"),
                _("Branch manager, while the appraisal is computed: a manual indicator's score, 0 … its weight."),
                serializers.ManualScoreSerializer,
                [OpenApiExample("score", summary=_("A manual score"), request_only=True,
                                value={"indicator": "ability", "score": "17.50", "reason": "year-end evaluation"})]),
    submit=_step(_("Submit for review"),
                 _("Branch manager: only when no target or manual score is missing."), serializers.CommentSerializer),
    review=_step(_("Review"), _("Personal-finance reviewer of the region: pass on to HR, or send back with a "
                                "comment."), serializers.DecisionSerializer,
                 [OpenApiExample("send-back", summary=_("Send back to the branch"), request_only=True,
                                 value={"approve": False, "comment": "Deposit target looks wrong"})]),
    approve=_step(_("Approve"), _("HR's final approval, or a return to the branch with a comment. Approving "
                                  "the last open appraisal of a branch and period computes its bonus."),
                  serializers.DecisionSerializer),
    publish=_step(_("Publish"), _("HR: the RM sees the appraisal from now on and may appeal within 7 days.")),
    acknowledge=_step(_("Acknowledge"), _("The appraised RM acknowledges a published appraisal.")),
    appeal=_step(_("Appeal"), _("The appraised RM appeals within 7 days of publication; the appraisal returns "
                                "for review."), serializers.AppealSerializer),
    reopen=_step(_("Reopen"), _("HR reopens an approved appraisal, only with a reason; it is computed again "
                                "and its history keeps the approved figures."), serializers.ReasonSerializer),
)
class AppraisalViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Appraisal.objects.select_related("employee", "branch", "scheme").order_by(
        "period", "branch__code", "employee__employee_no", "id")
    serializer_class = serializers.AppraisalSerializer
    filterset_class = AppraisalFilterSet
    # The steps find the appraisal among those the user may see; the service decides the role.
    restrict_actions = {name: VIEW for name in (
        "list", "retrieve", "score", "submit", "review", "approve", "publish", "acknowledge", "appeal", "reopen")}

    def get_queryset(self):
        lines = AppraisalLine.objects.restrict(self.request.user).select_related("indicator")
        return super().get_queryset().prefetch_related(Prefetch("lines", queryset=lines))

    def get_serializer_class(self):
        return serializers.AppraisalSerializer if self.action == "list" else serializers.AppraisalDetailSerializer

    def _take_step(self, request, body_serializer=None):
        """The appraisal in scope (404), the role (403), the body (400): the step's inputs."""
        appraisal = self.get_object()
        if not scoping.may(request.user, workflow.TRANSITIONS[self.action].action, Appraisal):
            raise PermissionDenied
        data = {}
        if body_serializer is not None:
            body = body_serializer(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
        return appraisal, data

    def _done(self, appraisal, *, still_visible=True):
        """The appraisal after the step. After an appeal the RM no longer sees it (it is back in
        review): they are answered with what they appealed, read without ``restrict`` once."""
        if still_visible:
            appraisal = self.get_queryset().get(pk=appraisal.pk)
        else:
            lines = AppraisalLine.objects.select_related("indicator")
            appraisal = (Appraisal.objects.select_related("employee", "branch", "scheme")
                         .prefetch_related(Prefetch("lines", queryset=lines)).get(pk=appraisal.pk))
        return Response(serializers.AppraisalDetailSerializer(appraisal).data)

    @action(detail=True, methods=["post"])
    def score(self, request, pk=None):
        appraisal, data = self._take_step(request, serializers.ManualScoreSerializer)
        workflow.appraisal_score_manual(appraisal=appraisal, indicator_code=data["indicator"], score=data["score"],
                                        by=request.user, reason=data["reason"])
        return self._done(appraisal)

    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        appraisal, data = self._take_step(request, serializers.CommentSerializer)
        return self._done(workflow.appraisal_submit(appraisal=appraisal, by=request.user, comment=data["comment"]))

    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        appraisal, data = self._take_step(request, serializers.DecisionSerializer)
        return self._done(workflow.appraisal_review(appraisal=appraisal, by=request.user, approve=data["approve"],
                                                    comment=data["comment"]))

    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        appraisal, data = self._take_step(request, serializers.DecisionSerializer)
        return self._done(workflow.appraisal_approve(appraisal=appraisal, by=request.user, approve=data["approve"],
                                                     comment=data["comment"]))

    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        appraisal, _data = self._take_step(request)
        return self._done(workflow.appraisal_publish(appraisal=appraisal, by=request.user))

    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        appraisal, _data = self._take_step(request)
        return self._done(workflow.appraisal_acknowledge(appraisal=appraisal, by=request.user))

    @action(detail=True, methods=["post"])
    def appeal(self, request, pk=None):
        appraisal, data = self._take_step(request, serializers.AppealSerializer)
        workflow.appraisal_appeal(appraisal=appraisal, by=request.user, comment=data["comment"])
        return self._done(appraisal, still_visible=False)

    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        appraisal, data = self._take_step(request, serializers.ReasonSerializer)
        return self._done(workflow.appraisal_reopen(appraisal=appraisal, by=request.user, reason=data["reason"]))


@read_only_docs(tag=PERFORMANCE, list_summary=_("List bonus statements"), retrieve_summary=_("Get a bonus statement"),
                description=_("Each RM's bonus of a period: level and grade coefficients, bonus, the part withheld "
                              "for the performance pool, and what was paid. Filter by period, branch, region and "
                              "employee."))
class BonusStatementViewSet(RestrictedReadOnlyViewSet):
    queryset = BonusStatement.objects.select_related("employee", "branch").order_by(
        "period", "branch__code", "employee__employee_no", "id")
    serializer_class = serializers.BonusStatementSerializer
    filterset_class = BonusStatementFilterSet


@read_only_docs(tag=PERFORMANCE, list_summary=_("List performance pools"), retrieve_summary=_("Get a performance pool"),
                description=_("The performance pool of each unit and its balance."),
                lookup=("code", _("Branch code of the pool's unit (or the pool's id).")))
class PerformancePoolViewSet(BusinessKeyLookupMixin, RestrictedReadOnlyViewSet):
    queryset = PerformancePool.objects.select_related("branch").order_by("branch__code")
    serializer_class = serializers.PerformancePoolSerializer
    lookup_field = "branch__code"
    lookup_url_kwarg = "code"


@read_only_docs(tag=PERFORMANCE, list_summary=_("List pool ledger entries"),
                retrieve_summary=_("Get a pool ledger entry"),
                description=_("The append-only ledger of the performance pools: contributions withheld from "
                              "bonuses, allocations to RMs with reason and justification, reversals. An RM sees the "
                              "allocations to them. Filter by period, branch (the unit), employee and kind."))
class PoolEntryViewSet(RestrictedReadOnlyViewSet):
    queryset = PoolEntry.objects.select_related("pool__branch", "employee", "created_by").order_by("pool_id", "id")
    serializer_class = serializers.PoolEntrySerializer
    filterset_class = PoolEntryFilterSet


@read_only_docs(tag=PERFORMANCE, list_summary=_("List scheduled runs"), retrieve_summary=_("Get a scheduled run"),
                description=_("Runs of the scheduled jobs (monthly appraisals, retention scoring, reminders): when "
                              "they ran, which branches are done and which failed. HR only."))
class ScheduledRunViewSet(RestrictedReadOnlyViewSet):
    queryset = ScheduledRun.objects.select_related("triggered_by").order_by("-started_at", "-id")
    serializer_class = serializers.ScheduledRunSerializer
    filterset_class = ScheduledRunFilterSet
