"""The upload page for imports (DOMAIN 6): HR picks a kind and uploads a file, which is imported
in the background; the job's page shows its progress, then the report."""
import csv

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import DetailView, FormView

from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.import_jobs import (RECENT_JOBS, STAGE_LABELS, import_job_create, import_job_finished,
                                  import_job_result_lines, import_job_retry, import_job_retryable, import_jobs)
from rmportal.importing import XLSX_SUFFIXES, importer_kinds
from rmportal.views import RoleRequiredMixin

IMPORT_ROLES = frozenset({scoping.HR})


def kinds_for(user) -> dict:
    return {kind: importer for kind, importer in importer_kinds().items() if importer.may_import(user)}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("File"), help_text=_("CSV (UTF-8) or XLSX, with a header row."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(kind, importer.label) for kind, importer in kinds_for(user).items()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", *XLSX_SUFFIXES)):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        return upload


class ImportUploadView(RoleRequiredMixin, FormView):
    allowed_roles = IMPORT_ROLES
    template_name = "imports/upload.html"
    form_class = ImportForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        kind = self.request.GET.get("kind")
        return {"kind": kind} if kind else {}

    def get_context_data(self, **kwargs):
        jobs = list(import_jobs(self.request.user)[:RECENT_JOBS])
        return super().get_context_data(kinds=kinds_for(self.request.user), jobs=jobs, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(kind=form.cleaned_data["kind"], fileobj=upload, filename=upload.name,
                                    user=self.request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        return redirect("imports:job", pk=job.pk)


class ImportJobView(RoleRequiredMixin, DetailView):
    """One import job: its progress while it runs (the status part polls itself with htmx and
    stops once the job is finished), then the report or the errors."""

    allowed_roles = IMPORT_ROLES
    context_object_name = "job"
    poll_seconds = 1

    def get_queryset(self):
        return import_jobs(self.request.user)

    def get_template_names(self):
        if self.request.htmx and not self.request.htmx.history_restore_request:
            return ["imports/_job_status.html"]
        return ["imports/job.html"]

    def get_context_data(self, **kwargs):
        job = self.object
        return super().get_context_data(
            finished=import_job_finished(job), stage_label=STAGE_LABELS.get(job.stage, ""),
            lines=import_job_result_lines(job), retryable=import_job_retryable(job), kind_label=getattr(kinds_for(self.request.user).get(job.kind),
                                                                   "label", job.kind),
            poll_seconds=self.poll_seconds, **kwargs)


class ImportJobRetryView(RoleRequiredMixin, View):
    """Queues a failed job again with the file it kept (the Retry button of its page)."""

    allowed_roles = IMPORT_ROLES

    def post(self, request, pk):
        try:
            import_job_retry(job_id=pk, user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("The import is queued again."))
        return redirect("imports:job", pk=pk)


class ImportTemplateView(RoleRequiredMixin, View):
    """An empty file with the kind's header row, to fill in with a spreadsheet program."""

    allowed_roles = IMPORT_ROLES

    def get(self, request, kind):
        importer = kinds_for(request.user).get(kind)
        if importer is None:
            raise Http404
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
        response.write("\ufeff")  # lets spreadsheet programs recognise UTF-8
        csv.writer(response).writerow([column.name for column in importer.columns])
        return response
