"""Pages of appraisals, review queues, calibration, bonus statements and the performance pool
(DOMAIN 3.3, 3.5). Reads go through performance.selectors, writes through performance.workflow,
performance.appraisals and performance.bonus; who sees what is decided by ``restrict`` alone.
The services raise PermissionDenied for the wrong role (answered 403) and ApplicationError for a
broken rule (shown as a form error)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cached_property
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import DetailView, FormView, ListView, TemplateView

from clients.models import Branch, Employee, Role
from core.money import round_half_up
from performance import selectors
from performance.bonus import pool_allocate, pool_reverse
from performance.filtersets import AppraisalFilterSet
from performance.forms import (AppealForm, AppraisalRunForm, CommentForm, DecisionForm, ManualScoreForm, SchemeCopyForm,
                               PeriodApproveForm, PoolAllocationForm, PoolReversalForm, ReasonForm)
from performance.models import (Appraisal, AppraisalLine, BonusStatement, PerformancePool, PoolEntry, ScheduledRun,
                                Scheme)
from performance.runs import scheduled_job_request
from performance.schemes import scheme_copy
from performance.periods import Period
from performance.scoring import Grade
from performance.views_operations import POLL_SECONDS, queued_query, queued_run
from performance.workflow import (TRANSITIONS, appeal_deadline, appraisal_acknowledge, appraisal_appeal,
                                  appraisal_approve, appraisal_publish, appraisal_reopen, appraisal_review,
                                  appraisal_score_manual, appraisal_submit, appraisal_transitions,
                                  period_approval_waiting, period_approve)
from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.exports import FORMATS, export_response
from rmportal.views import ActionRequiredMixin, RestrictedMixin

S = Appraisal.State
ALLOCATE = "allocate"
PAGE_SIZE = 50


# --- small helpers --------------------------------------------------------------------------

def _period_order(key: str):
    """Newest first: by the period's last day, then the shorter period (the routine one) first."""
    try:
        period = Period.parse(key)
    except ApplicationError:
        return (dt.date.min, 0)
    return (period.end, -period.month_count)


def periods_of(queryset) -> list[str]:
    """The distinct periods of a (restricted) queryset, newest first: one query."""
    keys = set(queryset.order_by().values_list("period", flat=True).distinct())
    return sorted(keys, key=_period_order, reverse=True)


def export_name(prefix: str, period: str) -> str:
    """A file name from a period typed by the user: only the characters a period may hold."""
    cleaned = re.sub(r"[^0-9A-Za-z-]", "", period or "")[:7]
    return f"{prefix}-{cleaned}" if cleaned else prefix


def export_format(request) -> str | None:
    fmt = request.GET.get("format")
    return fmt if fmt in FORMATS else None


def missing_text(item: dict) -> str:
    what = _("target") if item.get("missing") == "target" else _("manual score")
    return f"{item.get('name') or item.get('indicator')} ({what})"


def display_user(user) -> str:
    if user is None:
        return _("system")
    employee = getattr(user, "employee", None)  # a missing reverse one-to-one raises an AttributeError
    return employee.name if employee is not None else user.get_username()


def page_query(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- appraisals of a period -------------------------------------------------------------------

def appraisal_export_rows(appraisals):
    for a in appraisals.iterator(chunk_size=2000):
        yield [a.period, a.branch.code, a.branch.name, a.employee.employee_no, a.employee.name, a.scheme.code,
               a.total, a.get_grade_display(), a.get_state_display(), "; ".join(missing_text(m) for m in a.missing)]


def appraisal_export_header() -> list[str]:
    return [_("Period"), _("Branch code"), _("Branch"), _("Employee number"), _("RM"), _("Scheme"),
            _("Total score"), _("Grade"), _("State"), _("Missing inputs")]


class AppraisalListView(ActionRequiredMixin, ListView):
    """The appraisals the user may see, filtered with AppraisalFilterSet (by default the latest
    period); with ?format=csv|xlsx, the whole filtered table as a file."""

    required_action = ("browse", Appraisal)
    template_name = "performance/appraisal_list.html"
    context_object_name = "appraisals"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        base = selectors.appraisals_for(self.request.user)
        self.periods = periods_of(base)
        data = self.request.GET.copy()
        if "period" not in data and self.periods:
            data["period"] = self.periods[0]
        self.filterset = AppraisalFilterSet(data, queryset=base, request=self.request)
        if not self.filterset.is_valid():
            return base.none()
        return self.filterset.qs.order_by("period", "branch__code", "employee__employee_no")

    @property
    def period(self) -> str:
        return (self.filterset.form.cleaned_data.get("period") or "") if self.filterset.is_valid() else ""

    def query(self) -> str:
        """The filters in force (with the default period spelled out), for paging and export links."""
        params = self.filterset.data.copy()
        for key in ("page", "format"):
            params.pop(key, None)
        return params.urlencode()

    def get(self, request, *args, **kwargs):
        fmt = export_format(request)
        if fmt:
            rows = appraisal_export_rows(self.get_queryset())
            return export_response(fmt, export_name("appraisals", self.period), appraisal_export_header(), rows)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        user = self.request.user
        self.filterset.form.fields["period"].widget.attrs["list"] = "known-periods"
        counts = selectors.progress(user, self.period) if self.period else None
        progress = None
        if counts is not None:
            progress = {"states": [(state, label, counts.get(state, 0)) for state, label in S.choices],
                        "missing": counts["missing_inputs"],
                        "total": sum(counts.get(state, 0) for state in S.values)}
        may_run = scoping.role_may(user, "compute", Appraisal)
        return super().get_context_data(
            filterset=self.filterset, periods=self.periods, period=self.period, progress=progress,
            page_query=self.query(), export_query=self.query(),
            run_form=AppraisalRunForm(prefix="run", initial={"period": self.period},
                                      branches=Branch.objects.restrict(user)) if may_run else None,
            **kwargs)


class AppraisalRunView(ActionRequiredMixin, FormView):
    """HR computes (or recomputes) the appraisals of a period, for one branch or all (DOMAIN 3.3).
    The run is queued like the scheduled one (one task per branch, recorded on the operations
    page); the page then follows its progress until it is done."""

    required_action = ("compute", Appraisal)
    template_name = "performance/appraisal_run.html"
    form_class = AppraisalRunForm
    prefix = "run"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "branches": Branch.objects.restrict(self.request.user)}

    def get_initial(self):
        return {"period": self.request.GET.get("period", "")}

    def get_context_data(self, **kwargs):
        return super().get_context_data(queued=queued_run(self.request), poll_seconds=POLL_SECONDS, **kwargs)

    def form_valid(self, form):
        branch = form.cleaned_data["branch"]
        kind = ScheduledRun.Kind.APPRAISALS
        try:
            key = scheduled_job_request(kind=kind, key=form.cleaned_data["period"], by=self.request.user,
                                        branch_code=branch.code if branch else None)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        query = {"period": key, **queued_query(kind=kind, key=key)}
        return redirect(f"{reverse('performance:appraisal-run')}?{urlencode(query)}")


# --- one appraisal ------------------------------------------------------------------------------

APPRAISAL_HISTORY_FIELDS = ("state", "total", "grade")
LINE_HISTORY_FIELDS = ("manual_score", "points")


class _Rejected(Exception):
    """Rolls back every manual score of the form when one of them is refused."""


def _show(field: str, value) -> str:
    if value is None or value == "":
        return "—"
    if field == "state":
        return str(S(value).label)
    if field == "grade":
        return str(Grade(value).label)
    if isinstance(value, Decimal):
        return str(round_half_up(value, 2))
    return str(value)


def _history_entries(records, fields, model, subject) -> list[dict]:
    """Per historical record (oldest first), the fields that differ from the object's previous record."""
    previous, entries = {}, []
    for record in records:
        before = previous.get(record.id)
        changes = []
        for name in fields:
            after = _show(name, getattr(record, name))
            old = _show(name, getattr(before, name)) if before is not None else None
            if old != after and not (old is None and after == "—"):
                changes.append({"field": model._meta.get_field(name).verbose_name, "before": old, "after": after})
        previous[record.id] = record
        if changes:
            entries.append({"at": record.history_date, "order": record.history_id,
                            "who": display_user(record.history_user), "subject": subject(record),
                            "changes": changes, "created": before is None, "why": record.history_change_reason or ""})
    return entries


def appraisal_history(appraisal: Appraisal, lines: list[AppraisalLine]) -> list[dict]:
    """Changes of state, total, grade, manual scores and points, newest first, with who, when and why."""
    names = {line.indicator_id: line.indicator.name for line in lines}
    own = appraisal.history.select_related("history_user__employee").order_by("history_date", "history_id")
    line_records = (AppraisalLine.history.filter(appraisal_id=appraisal.pk)
                    .select_related("history_user__employee").order_by("history_date", "history_id"))
    entries = _history_entries(own, APPRAISAL_HISTORY_FIELDS, Appraisal, lambda r: _("Appraisal"))
    entries += _history_entries(line_records, LINE_HISTORY_FIELDS, AppraisalLine,
                                lambda r: names.get(r.indicator_id, str(r.indicator_id)))
    return sorted(entries, key=lambda e: (e["at"], e["order"]), reverse=True)


class AppraisalDetailView(RestrictedMixin, DetailView):
    """One appraisal with its lines and history, and the steps the user may take on it right now."""

    model = Appraisal
    template_name = "performance/appraisal_detail.html"
    context_object_name = "appraisal"

    def get_queryset(self):
        return selectors.appraisals_for(self.request.user)

    @cached_property
    def lines(self) -> list[AppraisalLine]:
        return list(AppraisalLine.objects.restrict(self.request.user).filter(appraisal=self.object)
                    .select_related("indicator"))

    @cached_property
    def deadline(self):
        return appeal_deadline(self.object)

    def available(self) -> dict[str, bool]:
        return appraisal_transitions(self.request.user, self.object, lines=self.lines)

    def make_form(self, action: str, data=None):
        prefix = action
        if action == "score":
            return ManualScoreForm(data, prefix=prefix, lines=self.lines)
        if action in ("review", "approve"):
            return DecisionForm(data, prefix=prefix)
        if action == "submit":
            return CommentForm(data, prefix=prefix)
        if action == "reopen":
            return ReasonForm(data, prefix=prefix)
        if action == "appeal":
            return AppealForm(data, prefix=prefix)
        return forms.Form(data, prefix=prefix)

    def get_context_data(self, bound=None, **kwargs):
        gaps = {m.get("indicator"): m.get("missing") for m in self.object.missing}
        for line in self.lines:
            line.missing_kind = gaps.get(line.indicator.code)
        available = self.available()
        action_forms = {action: self.make_form(action) for action, allowed in available.items() if allowed}
        if bound is not None:  # a refused step is shown again with its error, even if no longer offered
            action_forms[bound.prefix] = bound
        return super().get_context_data(
            lines=self.lines, history=appraisal_history(self.object, self.lines), forms=action_forms,
            deadline=self.deadline, deadline_passed=self.deadline is not None and timezone.now() > self.deadline,
            missing=[missing_text(m) for m in self.object.missing], **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        action = request.POST.get("action")
        if action not in TRANSITIONS:
            return HttpResponseBadRequest()
        if not scoping.may(request.user, TRANSITIONS[action].action, Appraisal):
            raise PermissionDenied
        form = self.make_form(action, request.POST)
        if form.is_valid():
            try:
                message = getattr(self, f"perform_{action}")(form)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            except _Rejected:
                pass
            else:
                messages.success(request, message)
                if action == "appeal":  # back in review: the RM no longer sees it until it is published again
                    return redirect("performance:mine")
                return redirect(self.object_url())
        return self.render_to_response(self.get_context_data(bound=form))

    def object_url(self) -> str:
        return reverse("performance:appraisal-detail", kwargs={"pk": self.object.pk})

    # Each step calls its service and returns the message shown after it.

    def perform_score(self, form):
        changes = form.changes()
        if not changes:
            raise ApplicationError(_("No score was changed."))
        with transaction.atomic():  # all of the form's scores, or none of them
            refused = False
            for code, score, field in changes:
                try:
                    appraisal_score_manual(appraisal=self.object, indicator_code=code, score=score,
                                           by=self.request.user, reason=form.cleaned_data["reason"])
                except ApplicationError as exc:
                    form.add_error(field, exc.message)
                    refused = True
            if refused:
                raise _Rejected
        return ngettext("%(count)d score saved.", "%(count)d scores saved.", len(changes)) % {"count": len(changes)}

    def perform_submit(self, form):
        appraisal_submit(appraisal=self.object, by=self.request.user, comment=form.cleaned_data["comment"])
        return _("The appraisal was submitted for review.")

    def perform_review(self, form):
        passed = form.cleaned_data["decision"] == DecisionForm.PASS
        appraisal_review(appraisal=self.object, by=self.request.user, approve=passed,
                         comment=form.cleaned_data["comment"])
        return _("The appraisal was passed on to HR.") if passed else _("The appraisal was sent back to the branch.")

    def perform_approve(self, form):
        approved = form.cleaned_data["decision"] == DecisionForm.PASS
        appraisal_approve(appraisal=self.object, by=self.request.user, approve=approved,
                          comment=form.cleaned_data["comment"])
        return _("The appraisal was approved.") if approved else _("The appraisal was sent back to the branch.")

    def perform_publish(self, form):
        appraisal_publish(appraisal=self.object, by=self.request.user)
        return _("The appraisal was published; the RM sees it now.")

    def perform_reopen(self, form):
        appraisal_reopen(appraisal=self.object, by=self.request.user, reason=form.cleaned_data["reason"])
        return _("The appraisal was reopened.")

    def perform_acknowledge(self, form):
        appraisal_acknowledge(appraisal=self.object, by=self.request.user)
        return _("You acknowledged the appraisal.")

    def perform_appeal(self, form):
        appraisal_appeal(appraisal=self.object, by=self.request.user, comment=form.cleaned_data["comment"])
        return _("Your appeal was sent; the appraisal is reviewed again.")


# --- queues and calibration -------------------------------------------------------------------

class QueueView(ActionRequiredMixin, TemplateView):
    """What waits for the user's step: submitted appraisals for the region's reviewer; reviewed
    ones (by branch and period, with the branch's period approval) and approved ones for HR."""

    required_action = ("queue", Appraisal)
    template_name = "performance/queue.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        if scoping.role_may(user, TRANSITIONS["review"].action, Appraisal):
            return super().get_context_data(
                reviewing=True, **kwargs,
                to_review=list(selectors.appraisal_queue(user, state=S.SUBMITTED, action="review")))
        reviewed = list(selectors.appraisal_queue(user, state=S.REVIEWED, action="approve"))
        groups: dict[tuple, dict] = {}
        for appraisal in reviewed:
            key = (appraisal.branch_id, appraisal.period)
            groups.setdefault(key, {"branch": appraisal.branch, "period": appraisal.period, "appraisals": [],
                                    "waiting": 0})["appraisals"].append(appraisal)
        if groups:
            waiting = period_approval_waiting(selectors.appraisals_for(user).filter(
                branch_id__in={b for b, _p in groups}, period__in={p for _b, p in groups}))
            for key, group in groups.items():
                group["waiting"] = waiting.get(key, 0)
        return super().get_context_data(
            groups=list(groups.values()),
            to_publish=list(selectors.appraisal_queue(user, state=S.APPROVED, action="publish")), **kwargs)


class PeriodApproveView(ActionRequiredMixin, View):
    """HR approves every reviewed appraisal of a branch and period at once; the bonus follows."""

    required_action = ("approve", Appraisal)
    http_method_names = ["post"]

    def post(self, request):
        form = PeriodApproveForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest()
        branch = get_object_or_404(Branch.objects.restrict(request.user), code=form.cleaned_data["branch"])
        period = form.cleaned_data["period"]
        try:
            count = period_approve(branch=branch, period=period, by=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, ngettext(
                "%(count)d appraisal of %(branch)s for %(period)s approved.",
                "%(count)d appraisals of %(branch)s for %(period)s approved.", count)
                % {"count": count, "branch": branch.name, "period": period})
        return redirect("performance:queue")


def calibration_reason(reason) -> str:
    kind, value = reason
    if kind == "chi_square":
        return _("The grade distribution differs from the bank's (χ² = %(value)s, above %(limit)s).") % {
            "value": value, "limit": selectors.CHI_SQUARE_4DF_5PCT}
    points = f"{abs(value) * 100:.1f}"
    if value > 0:
        return _("%(points)s percentage points more good-or-better grades than the median branch.") % {
            "points": points}
    return _("%(points)s percentage points fewer good-or-better grades than the median branch.") % {"points": points}


def _distribution_row(dist, compare=None) -> dict:
    return {
        "label": dist.label, "total": dist.total, "flagged": dist.flagged,
        "reasons": [calibration_reason(r) for r in dist.reasons],
        "cells": [{"grade": grade, "count": count, "share": share * 100,
                   "compare": compare.share(grade) * 100 if compare is not None else None}
                  for grade, count, share in dist.shares],
        "good_or_better": dist.good_or_better * 100,
        "compare_good_or_better": compare.good_or_better * 100 if compare is not None else None,
    }


class CalibrationView(ActionRequiredMixin, TemplateView):
    """Grade distribution per branch against its region and the bank, with the branches that
    stand out flagged and why (performance.selectors.calibration)."""

    required_action = ("calibrate", Appraisal)
    template_name = "performance/calibration.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        periods = periods_of(selectors.appraisals_for(user))
        period = self.request.GET.get("period") or (periods[0] if periods else "")
        result = selectors.calibration(user, period) if period else None
        context = {"periods": periods, "period": period, "grades": Grade.choices}
        if result is not None:
            bank = result["bank"]
            context.update(
                bank=_distribution_row(bank),
                regions=[_distribution_row(dist, bank) for dist in result["regions"].values()],
                branches=[{**_distribution_row(dist, region), "region": region.label}
                          for dist, region in result["branches"]],
                flagged=sum(1 for dist, _region in result["branches"] if dist.flagged))
        return super().get_context_data(**context, **kwargs)


# --- the RM's own page and bonus statements ---------------------------------------------------

class MyAppraisalsView(ActionRequiredMixin, TemplateView):
    """The RM's published appraisals, bonus statements and pool receipts (DOMAIN 3.3, 3.5)."""

    required_action = ("view_own", Appraisal)
    template_name = "performance/mine.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        appraisals = list(selectors.appraisals_for(user).order_by("-published_at", "-period"))
        now = timezone.now()
        for appraisal in appraisals:
            appraisal.deadline = appeal_deadline(appraisal)
            appraisal.may_appeal = (appraisal.state == S.PUBLISHED and appraisal.deadline is not None
                                    and now <= appraisal.deadline)
        # One statement per period for an RM, so this loop runs once per period of their own history.
        statements = [row for period in periods_of(selectors.bonus_statements(user))
                      for row in selectors.statement_rows(user, period)]
        # An RM's own ledger lines: allocations to them and their reversals (not bonus recomputations).
        receipts = list(selectors.pool_ledger(user).exclude(reverses__kind=PoolEntry.Kind.CONTRIBUTION))
        return super().get_context_data(appraisals=appraisals, statements=statements, receipts=receipts, **kwargs)


def statement_export_header() -> list[str]:
    return [_("Period"), _("Branch code"), _("Employee number"), _("RM"), _("Grade"), _("Level coefficient"),
            _("Grade coefficient"), _("Bonus"), _("Withheld for the pool"), _("Received from the pool"),
            _("Paid"), _("Paid with pool receipts")]


def statement_export_rows(rows):
    for row in rows:
        s = row["statement"]
        yield [s.period, s.branch.code, s.employee.employee_no, s.employee.name, s.appraisal.get_grade_display(),
               s.level_coefficient, s.grade_coefficient, s.bonus, s.withheld, row["received"], s.paid,
               row["total_paid"]]


class BonusStatementsView(ActionRequiredMixin, TemplateView):
    """The bonus statements of a period for the branch (or the bank, for HR), with exports."""

    required_action = ("browse", BonusStatement)
    template_name = "performance/bonus.html"

    def get(self, request, *args, **kwargs):
        user = request.user
        self.periods = periods_of(BonusStatement.objects.restrict(user))
        self.period = request.GET.get("period") or (self.periods[0] if self.periods else "")
        self.rows = selectors.statement_rows(user, self.period) if self.period else []
        fmt = export_format(request)
        if fmt:
            return export_response(fmt, export_name("bonus", self.period), statement_export_header(),
                                   statement_export_rows(self.rows))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        totals = {key: sum((getattr(r["statement"], key) for r in self.rows), Decimal("0.00"))
                  for key in ("bonus", "withheld", "paid")}
        totals["received"] = sum((r["received"] for r in self.rows), Decimal("0.00"))
        totals["total_paid"] = sum((r["total_paid"] for r in self.rows), Decimal("0.00"))
        return super().get_context_data(periods=self.periods, period=self.period, rows=self.rows, totals=totals,
                                        **kwargs)


# --- the performance pool ---------------------------------------------------------------------

class PoolListView(ActionRequiredMixin, ListView):
    required_action = ("browse", PerformancePool)
    template_name = "performance/pool_list.html"
    context_object_name = "pools"

    def get_queryset(self):
        return selectors.pools_for(self.request.user).order_by("branch__code")


def ledger_export_header() -> list[str]:
    return [_("No."), _("At"), _("Kind"), _("Period"), _("Branch code"), _("Employee number"), _("RM"), _("Amount"),
            _("Reason"), _("Justification"), _("Reverses entry"), _("By"), _("Balance after")]


def ledger_export_rows(entries):
    for e in entries.iterator(chunk_size=2000):
        yield [e.pk, timezone.localtime(e.created_at), e.get_kind_display(), e.period, e.pool.branch.code,
               e.employee.employee_no, e.employee.name, e.amount, e.get_reason_display() if e.reason else "",
               e.justification, e.reverses_id or "", display_user(e.created_by) if e.created_by_id else "",
               e.balance_after]


class PoolDetailView(ActionRequiredMixin, TemplateView):
    """A unit's pool: balance and ledger for its branch roles, the reviewer and HR; the department
    head allocates from it and reverses allocations made in error (DOMAIN 3.5)."""

    required_action = ("browse", PerformancePool)
    template_name = "performance/pool_detail.html"

    @cached_property
    def branch(self) -> Branch:
        return get_object_or_404(Branch.objects.restrict(self.request.user), code=self.kwargs["code"])

    @cached_property
    def may_allocate(self) -> bool:
        return scoping.may(self.request.user, ALLOCATE, PerformancePool)

    def ledger(self):
        period = self.request.GET.get("period") or None
        reversed_ = PoolEntry.objects.filter(reverses=OuterRef("pk"))
        return (selectors.pool_ledger(self.request.user, branch_id=self.branch.pk, period=period)
                .select_related("created_by__employee").annotate(is_reversed=Exists(reversed_)))

    def rms(self):
        return Employee.objects.restrict(self.request.user).filter(
            branch=self.branch, role=Role.RM, status=Employee.Status.ACTIVE).order_by("employee_no")

    def allocation_form(self, data=None):
        latest = periods_of(BonusStatement.objects.restrict(self.request.user).filter(branch=self.branch))
        return PoolAllocationForm(data, prefix="allocate", rms=self.rms(),
                                  initial={"period": latest[0] if latest else ""})

    def get(self, request, *args, **kwargs):
        fmt = export_format(request)
        if fmt:
            return export_response(fmt, f"pool-{self.branch.code}", ledger_export_header(),
                                   ledger_export_rows(self.ledger().order_by("id")))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        pool = selectors.pools_for(self.request.user).filter(branch=self.branch).first()
        page = Paginator(self.ledger(), PAGE_SIZE).get_page(self.request.GET.get("page"))
        for entry in page.object_list:
            entry.by = display_user(entry.created_by) if entry.created_by_id else ""
            # Money leaves the pool with an allocation, or when a contribution is taken back.
            entry.outgoing = entry.kind == PoolEntry.Kind.ALLOCATION or (
                entry.reverses is not None and entry.reverses.kind == PoolEntry.Kind.CONTRIBUTION)
        context = {"branch": self.branch, "pool": pool, "balance": pool.balance if pool else Decimal("0.00"),
                   "entries": page.object_list, "page_obj": page, "page_query": page_query(self.request),
                   "period": self.request.GET.get("period", ""), "may_allocate": self.may_allocate}
        if self.may_allocate:
            context.setdefault("allocation_form", self.allocation_form())
        context.update(kwargs)
        return super().get_context_data(**context)

    def post(self, request, *args, **kwargs):
        self.branch  # 404 outside the user's scope comes before 403
        if not self.may_allocate:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "allocate":
            return self.allocate()
        if action == "reverse":
            return self.reverse()
        return HttpResponseBadRequest()

    def allocate(self):
        form = self.allocation_form(self.request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = pool_allocate(branch=self.branch, employee=data["employee"], amount=data["amount"],
                                      reason=data["reason"], justification=data["justification"],
                                      period=data["period"], by=self.request.user)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(self.request, _("%(amount)s allocated to %(name)s; %(balance)s left in the pool.")
                                 % {"amount": entry.amount, "name": entry.employee.name,
                                    "balance": entry.balance_after})
                return redirect("performance:pool-detail", code=self.branch.code)
        return self.render_to_response(self.get_context_data(allocation_form=form))

    def reverse(self):
        form = PoolReversalForm(self.request.POST, prefix="reverse")
        if form.is_valid():
            entry = get_object_or_404(selectors.pool_ledger(self.request.user, branch_id=self.branch.pk),
                                      pk=form.cleaned_data["entry"])
            try:
                pool_reverse(entry=entry, by=self.request.user, justification=form.cleaned_data["justification"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(self.request, _("The allocation of %(amount)s to %(name)s was reversed.")
                                 % {"amount": entry.amount, "name": entry.employee.name})
                return redirect("performance:pool-detail", code=self.branch.code)
        return self.render_to_response(self.get_context_data(reversal_form=form))


class SchemeCopyView(ActionRequiredMixin, FormView):
    """HR copies a head-office template to a branch, to be adjusted there (DOMAIN 3.1)."""

    required_action = ("change", Scheme)
    template_name = "performance/scheme_copy.html"
    form_class = SchemeCopyForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(),
                "templates": Scheme.objects.restrict(self.request.user).filter(branch__isnull=True),
                "branches": Branch.objects.restrict(self.request.user)}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            scheme = scheme_copy(template=data["template"], branch=data["branch"], code=data["code"],
                                 name=data["name"], by=self.request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Scheme %(code)s is now the active scheme of %(branch)s.")
                         % {"code": scheme.code, "branch": scheme.branch})
        return redirect(reverse("admin:performance_scheme_change", args=[scheme.pk]))
