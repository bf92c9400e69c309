"""The operations page (HR only): the scheduled runs with their progress and failures, and a
form that queues a job now. While a run is going (or a job just queued waits for a worker) the
list polls itself with htmx and stops once nothing runs. Reads and writes go through
performance.runs."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView

from performance.models import ScheduledRun
from performance.runs import JOB_KINDS, scheduled_job_request, scheduled_run_since, scheduled_runs
from rmportal.views import ActionRequiredMixin, ApplicationErrorFormMixin

PAGE_SIZE = 50
POLL_SECONDS = 2
WAIT_LIMIT = dt.timedelta(minutes=10)
"""How long a page waits for a worker to start a queued job before it stops polling."""


def queued_query(*, kind: str, key: str, since: dt.datetime | None = None) -> dict:
    """The query parameters naming a job queued now (or at ``since``)."""
    since = since or timezone.now()
    return {"job": kind, "key": key, "since": int(since.timestamp())}


def queued_run(request) -> dict | None:
    """What a page shows of the job named by its query (``queued_query``): the run once a
    worker started it, whether it is still waiting for one, and whether to poll. None when the
    query names no job; 404 when it names one wrongly."""
    kind, key, since = (request.GET.get(name) for name in ("job", "key", "since"))
    if kind is None and since is None:
        return None
    try:
        label = ScheduledRun.Kind(kind).label
        since = dt.datetime.fromtimestamp(int(since), tz=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise Http404 from None
    key = (key or "")[:20]
    run = scheduled_run_since(request.user, kind=kind, key=key, since=since)
    waiting = run is None and timezone.now() - since < WAIT_LIMIT
    running = run is not None and run.status == ScheduledRun.Status.RUNNING
    return {
        "kind": kind, "kind_label": label, "key": key, "run": run, "waiting": waiting,
        "finished": run is not None and not running, "polling": waiting or running,
        "progress_url": f"{reverse('operations:run-progress')}?{urlencode(queued_query(kind=kind, key=key, since=since))}",
    }


class RunNowForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Job"),
                             choices=[(k.value, k.label) for k in JOB_KINDS])
    key = forms.CharField(label=gettext_lazy("Period or month"), max_length=7, required=False,
                          help_text=gettext_lazy("Appraisals: YYYY-MM, YYYY-Qn or YYYY. Retention risk: YYYY-MM. "
                                                 "Reminders: leave empty (today)."))


class OperationsView(ActionRequiredMixin, ApplicationErrorFormMixin, FormView):
    required_action = ("trigger", ScheduledRun)
    template_name = "performance/operations.html"
    form_class = RunNowForm
    prefix = "run"

    def perform(self, form):
        kind = form.cleaned_data["kind"]
        key = scheduled_job_request(kind=kind, key=form.cleaned_data["key"], by=self.request.user)
        messages.success(self.request, _("%(job)s %(key)s is queued; it is listed here once a worker starts it.")
                         % {"job": ScheduledRun.Kind(kind).label, "key": key})
        # The list below waits for the run of this job and follows it until it is done.
        return redirect(f"{reverse('operations:runs')}?{urlencode(queued_query(kind=kind, key=key))}")

    def get_template_names(self):
        htmx = self.request.htmx
        if htmx and not htmx.history_restore_request and self.request.method == "GET":
            return ["performance/_runs.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        page = Paginator(scheduled_runs(self.request.user), PAGE_SIZE).get_page(self.request.GET.get("page"))
        queued = queued_run(self.request)
        waiting = queued is not None and queued["waiting"]
        running = any(run.status == ScheduledRun.Status.RUNNING for run in page.object_list)
        return super().get_context_data(page_obj=page, page_query="", queued=queued, waiting=waiting,
                                        polling=waiting or running, poll_seconds=POLL_SECONDS, **kwargs)


class RunProgressView(ActionRequiredMixin, TemplateView):
    """The progress of one queued job's run, as a fragment that polls itself until the run is
    finished (or no worker started it in time). Pages that queue a job include it."""

    required_action = ("trigger", ScheduledRun)
    template_name = "performance/_run_progress.html"

    def get_context_data(self, **kwargs):
        queued = queued_run(self.request)
        if queued is None:
            raise Http404
        return super().get_context_data(queued=queued, poll_seconds=POLL_SECONDS, **kwargs)
