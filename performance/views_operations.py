"""The operations page (HR only): the scheduled runs with their progress and failures, and a
form that queues a job now. Reads and writes go through performance.runs."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView

from performance.models import ScheduledRun
from performance.runs import JOB_KINDS, scheduled_job_request, scheduled_runs
from rmportal.views import ApplicationErrorFormMixin, RoleRequiredMixin

PAGE_SIZE = 50


class RunNowForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Job"),
                             choices=[(k.value, k.label) for k in JOB_KINDS])
    key = forms.CharField(label=gettext_lazy("Period or month"), max_length=7, required=False,
                          help_text=gettext_lazy("Appraisals: YYYY-MM, YYYY-Qn or YYYY. Retention risk: YYYY-MM. "
                                                 "Reminders: leave empty (today)."))


class OperationsView(RoleRequiredMixin, ApplicationErrorFormMixin, FormView):
    allowed_roles = ScheduledRun.scope.actions["trigger"]
    template_name = "performance/operations.html"
    form_class = RunNowForm
    prefix = "run"

    def perform(self, form):
        key = scheduled_job_request(kind=form.cleaned_data["kind"], key=form.cleaned_data["key"],
                                    by=self.request.user)
        messages.success(self.request, _("%(job)s %(key)s is queued; it is listed here once a worker starts it.")
                         % {"job": ScheduledRun.Kind(form.cleaned_data["kind"]).label, "key": key})
        return redirect("operations:runs")

    def get_context_data(self, **kwargs):
        page = Paginator(scheduled_runs(self.request.user), PAGE_SIZE).get_page(self.request.GET.get("page"))
        return super().get_context_data(page_obj=page, page_query="", **kwargs)
