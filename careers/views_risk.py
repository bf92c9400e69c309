"""Retention-risk pages (DOMAIN 5) for HR and branch managers: the month's scores with their
factor breakdown, the alerts and what is done about them, HR's settings and the backtest.

RMs never reach these pages (403), and ``restrict`` keeps a branch manager to their branch
(another branch's score or alert is 404). Reads and writes go through careers.risk.
"""
from __future__ import annotations

from functools import cached_property

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from careers import risk
from careers.filtersets import RiskAlertFilterSet, RiskScoreFilterSet
from careers.forms_risk import AlertResolveForm, AlertSnoozeForm, RiskSettingsForm
from careers.models import RiskAlert, RiskScore
from rmportal.errors import ApplicationError
from rmportal.views import ActionRequiredMixin, ApplicationErrorFormMixin

PAGE_SIZE = 50
BOOK_ROWS = 50
"""Clients listed on a page's book at risk, largest contribution first."""


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _page_query(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _book_context(book: risk.BookAtRisk) -> dict:
    clients = sorted(book.clients, key=lambda c: (-c.contribution_12m, c.client_no))
    return {"book": book, "book_clients": clients[:BOOK_ROWS], "book_more": max(0, len(clients) - BOOK_ROWS)}


class ScoreListView(ActionRequiredMixin, TemplateView):
    """The scores of a month (the latest by default), highest first, with each factor's points
    and the change since the month before."""

    required_action = ("browse", RiskScore)
    template_name = "careers/risk_scores.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        months = risk.risk_months(user)
        data = self.request.GET.copy()
        if not data.get("month") and months:
            data["month"] = f"{months[0]:%Y-%m}"
        filterset = RiskScoreFilterSet(data, queryset=risk.risk_scores_for(user), request=self.request)
        scores = (filterset.qs if filterset.is_valid() else RiskScore.objects.none()).order_by(
            "-score", "employee__employee_no")
        page = _page(self.request, scores)
        before = risk.previous_scores(page.object_list)
        rows = []
        for s in page.object_list:
            previous = before.get((s.employee_id, s.month))
            rows.append({"score": s, "previous": previous, "change": s.score - previous.score if previous else None,
                         "points": [s.factors.get(name, {}).get("points") for name in risk.FACTORS]})
        open_alerts = set(RiskAlert.objects.filter(employee_id__in=[s.employee_id for s in page.object_list])
                          .exclude(status=RiskAlert.Status.RESOLVED).values_list("employee_id", flat=True))
        return super().get_context_data(
            filterset=filterset, page_obj=page, rows=rows, months=months, open_alerts=open_alerts,
            factor_labels=[risk.FACTOR_LABELS[name] for name in risk.FACTORS], page_query=_page_query(self.request),
            month=filterset.form.cleaned_data.get("month") if filterset.is_valid() else None, **kwargs)


class ScoreDetailView(ActionRequiredMixin, TemplateView):
    """One RM's score of a month: every factor with its parts and figures, what changed since the
    month before, the alert if one is open, and the book at risk."""

    required_action = ("browse", RiskScore)
    template_name = "careers/risk_score_detail.html"

    def get_context_data(self, **kwargs):
        score = get_object_or_404(risk.risk_scores_for(self.request.user), pk=self.kwargs["pk"])
        previous = risk.previous_scores([score]).get((score.employee_id, score.month))
        alert = (risk.risk_alerts_for(self.request.user).filter(employee_id=score.employee_id)
                 .exclude(status=RiskAlert.Status.RESOLVED).first())
        history = list(risk.risk_scores_for(self.request.user).filter(employee_id=score.employee_id)
                       .order_by("-month")[:12])
        book = risk.book_at_risk([score.employee_id])[score.employee_id]
        return super().get_context_data(score=score, previous=previous, rows=risk.factor_rows(score, previous),
                                        score_change=score.score - previous.score if previous else None,
                                        alert=alert, history=history, **_book_context(book), **kwargs)


class AlertListView(ActionRequiredMixin, TemplateView):
    """The alerts not yet resolved (or all, by the status filter), newest first, each with its
    book at risk."""

    required_action = ("browse", RiskScore)
    template_name = "careers/risk_alerts.html"

    def get_context_data(self, **kwargs):
        alerts = risk.risk_alerts_for(self.request.user)
        filterset = RiskAlertFilterSet(self.request.GET or None, queryset=alerts, request=self.request)
        if filterset.is_bound:
            alerts = filterset.qs if filterset.is_valid() else alerts.none()
        if not self.request.GET.get("status"):
            alerts = alerts.exclude(status=RiskAlert.Status.RESOLVED)
        page = _page(self.request, alerts.order_by("-opened_at", "-pk"))
        books = risk.book_at_risk(a.employee_id for a in page.object_list)
        rows = [{"alert": a, "book": books[a.employee_id],
                 "action": risk.Action(a.suggested_action).label if a.suggested_action else ""}
                for a in page.object_list]
        return super().get_context_data(filterset=filterset, page_obj=page, rows=rows,
                                        page_query=_page_query(self.request), **kwargs)


class AlertDetailView(ActionRequiredMixin, TemplateView):
    """One alert: why it opened, the factors against the month before, the suggested action and
    the book at risk; acknowledge, snooze until a day, or resolve with a note."""

    required_action = ("browse", RiskScore)
    template_name = "careers/risk_alert_detail.html"
    ACTIONS = ("acknowledge", "snooze", "resolve")

    @cached_property
    def alert(self) -> RiskAlert:
        return get_object_or_404(risk.risk_alerts_for(self.request.user), pk=self.kwargs["pk"])

    @cached_property
    def may_change(self) -> bool:
        return risk.risk_alerts_for(self.request.user, "change").filter(pk=self.alert.pk).exists()

    def get_context_data(self, forms=None, **kwargs):
        alert = self.alert
        previous = risk.previous_scores([alert.score]).get((alert.employee_id, alert.score.month))
        book = risk.book_at_risk([alert.employee_id])[alert.employee_id]
        forms = forms or self.blank_forms()
        return super().get_context_data(
            alert=alert, score=alert.score, previous=previous, rows=risk.factor_rows(alert.score, previous),
            score_change=alert.score.score - previous.score if previous else None,
            action_label=risk.Action(alert.suggested_action).label if alert.suggested_action else "",
            top_label=risk.FACTOR_LABELS[risk.top_factor(alert.score.factors)],
            may_change=self.may_change and alert.status != RiskAlert.Status.RESOLVED,
            snooze_form=forms["snooze"], resolve_form=forms["resolve"], **_book_context(book), **kwargs)

    @staticmethod
    def blank_forms() -> dict:
        return {"snooze": AlertSnoozeForm(prefix="snooze"), "resolve": AlertResolveForm(prefix="resolve")}

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        if action not in self.ACTIONS:
            return HttpResponseBadRequest()
        if not self.may_change:
            raise PermissionDenied
        forms = self.blank_forms()
        if action == "snooze":
            forms["snooze"] = AlertSnoozeForm(request.POST, prefix="snooze")
        elif action == "resolve":
            forms["resolve"] = AlertResolveForm(request.POST, prefix="resolve")
        form = forms.get(action)
        if form is not None and not form.is_valid():
            return self.render_to_response(self.get_context_data(forms=forms))
        try:
            if action == "acknowledge":
                risk.risk_alert_acknowledge(alert=self.alert, by=request.user)
                messages.success(request, _("Alert acknowledged."))
            elif action == "snooze":
                until = form.cleaned_data["until"]
                risk.risk_alert_snooze(alert=self.alert, until=until, by=request.user)
                messages.success(request, _("Alert snoozed until %(day)s.") % {"day": until.isoformat()})
            else:
                risk.risk_alert_resolve(alert=self.alert, note=form.cleaned_data["note"], by=request.user)
                messages.success(request, _("Alert resolved."))
        except ApplicationError as exc:
            if form is None:
                messages.error(request, exc.message)
            else:
                form.add_error(None, exc.message)
                return self.render_to_response(self.get_context_data(forms=forms))
        return redirect(reverse("risk:alert-detail", kwargs={"pk": self.alert.pk}))


class SettingsView(ActionRequiredMixin, ApplicationErrorFormMixin, FormView):
    """HR sets the weights and thresholds; the next scoring run uses them."""

    required_action = ("configure", RiskScore)
    template_name = "careers/risk_settings.html"
    form_class = RiskSettingsForm

    def get_initial(self):
        return RiskSettingsForm.initial_for(risk.risk_settings_current())

    def perform(self, form):
        risk.risk_settings_update(by=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Retention-risk settings saved; the next scoring run uses them."))
        return redirect("risk:settings")

    def get_context_data(self, **kwargs):
        return super().get_context_data(current=risk.risk_settings_current(), **kwargs)


class BacktestView(ActionRequiredMixin, TemplateView):
    """How well each month's scores ranked the RMs who left within the next six months."""

    required_action = ("configure", RiskScore)
    template_name = "careers/risk_backtest.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(horizon=risk.BACKTEST_HORIZON_MONTHS, today=timezone.localdate(),
                                        **risk.risk_backtest(self.request.user), **kwargs)
