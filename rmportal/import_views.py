"""The upload page for imports (DOMAIN 6): HR picks a kind (and whether the file replaces what is
stored) and uploads a file, which is checked in the background; the job's page shows its progress,
then the preview per branch and month to confirm, then the report and the import's batch, with
the button that undoes it."""
import csv

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import DetailView, FormView

from clients.models import ImportBatch, ImportJob
from rmportal.errors import ApplicationError
from rmportal.import_batches import import_batch_undo, import_batch_undo_problem, import_batches
from rmportal.import_jobs import (RECENT_JOBS, STAGE_LABELS, import_job_cancel, import_job_confirm, import_job_create,
                                  import_job_finished, import_job_needs_delete_confirmation, import_job_result_lines,
                                  import_job_retry, import_job_retryable, import_job_settled, import_jobs)
from rmportal.importing import XLSX_SUFFIXES, importer_kinds
from rmportal.validators import validate_upload_size
from rmportal.views import ActionRequiredMixin



def kinds_for(user) -> dict:
    return {kind: importer for kind, importer in importer_kinds().items() if importer.may_import(user)}


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("File"), help_text=_("CSV (UTF-8) or XLSX, with a header row."))
    replace = forms.BooleanField(
        label=_("Replace"), required=False,
        help_text=_("Also delete the stored rows of the file's branches (and months) that the file lacks. "
                    "Without it, rows are added and updated and nothing else is touched."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = kinds_for(user)
        self.fields["kind"].choices = [(kind, importer.label) for kind, importer in self.kinds.items()]

    def clean(self):
        data = super().clean()
        importer = self.kinds.get(data.get("kind"))
        if data.get("replace") and importer is not None and not importer.supports_replace:
            self.add_error("replace", _("This kind of file cannot replace what is stored."))
        return data

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", *XLSX_SUFFIXES)):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        validate_upload_size(upload, limit=settings.IMPORT_MAX_UPLOAD_BYTES)
        return upload


class ImportUploadView(ActionRequiredMixin, FormView):
    required_action = ("import", ImportJob)
    template_name = "imports/upload.html"
    form_class = ImportForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        kind = self.request.GET.get("kind")
        return {"kind": kind} if kind else {}

    def get_context_data(self, **kwargs):
        jobs = list(import_jobs(self.request.user)[:RECENT_JOBS])
        batches = list(import_batches(self.request.user).select_related("undone_by")[:RECENT_JOBS])
        return super().get_context_data(kinds=kinds_for(self.request.user), jobs=jobs, batches=batches, **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(kind=form.cleaned_data["kind"], fileobj=upload, filename=upload.name,
                                    user=self.request.user, replace=form.cleaned_data["replace"],
                                    confirm_first=True)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        return redirect("imports:job", pk=job.pk)


class ImportJobView(ActionRequiredMixin, DetailView):
    """One import job: its progress while it runs (the status part polls itself with htmx and
    stops once the job is finished), then the report or the errors."""

    required_action = ("import", ImportJob)
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
        batch = getattr(job, "batch", None)
        return super().get_context_data(
            finished=import_job_finished(job), settled=import_job_settled(job),
            stage_label=STAGE_LABELS.get(job.stage, ""), retryable=import_job_retryable(job),
            lines=import_job_result_lines(job), kind_label=getattr(kinds_for(self.request.user).get(job.kind),
                                                                   "label", job.kind),
            needs_delete_confirmation=import_job_needs_delete_confirmation(job), batch=batch,
            problem=import_batch_undo_problem(batch) if batch is not None else None,
            confirm_error=kwargs.pop("confirm_error", None), poll_seconds=self.poll_seconds, **kwargs)


class ImportJobConfirmView(ActionRequiredMixin, View):
    """Confirm (store) or cancel a previewed import."""

    required_action = ("import", ImportJob)

    def post(self, request, pk):
        job = get_object_or_404(import_jobs(request.user), pk=pk)
        try:
            if "cancel" in request.POST:
                import_job_cancel(job_id=job.pk, user=request.user)
            else:
                typed = request.POST.get("rows_to_delete", "").strip()
                import_job_confirm(job_id=job.pk, user=request.user,
                                   rows_to_delete=int(typed) if typed.isdigit() else None)
        except ApplicationError as exc:
            view = ImportJobView(request=request, kwargs={"pk": pk}, args=())
            view.object = job
            return view.render_to_response(view.get_context_data(object=job, confirm_error=exc.message),
                                           status=400)
        return redirect("imports:job", pk=job.pk)


class ImportBatchView(ActionRequiredMixin, DetailView):
    """One import batch: what it changed per branch and month, and whether it can be undone."""

    required_action = ("import", ImportBatch)
    context_object_name = "batch"
    template_name = "imports/batch.html"

    def get_queryset(self):
        return import_batches(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(problem=import_batch_undo_problem(self.object), **kwargs)


class ImportBatchUndoView(ImportBatchView):
    """Asks to confirm the undo of an import batch (GET) and undoes it (POST); shows the reason
    when it cannot be undone."""

    template_name = "imports/undo.html"

    def post(self, request, pk):
        self.object = batch = self.get_object()
        try:
            undo = import_batch_undo(batch_id=batch.pk, user=request.user)
        except ApplicationError as exc:
            return self.render_to_response(self.get_context_data(error=exc.message), status=400)
        return redirect("imports:batch", pk=undo.pk)


class ImportJobRetryView(ActionRequiredMixin, View):
    """Queues a failed job again with the file it kept (the Retry button of its page)."""

    required_action = ("import", ImportJob)

    def post(self, request, pk):
        try:
            import_job_retry(job_id=pk, user=request.user)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, gettext("The import is queued again."))
        return redirect("imports:job", pk=pk)


class ImportTemplateView(ActionRequiredMixin, View):
    """An empty file with the kind's header row, to fill in with a spreadsheet program."""

    required_action = ("import", ImportJob)

    def get(self, request, kind):
        importer = kinds_for(request.user).get(kind)
        if importer is None:
            raise Http404
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
        response.write("\ufeff")  # lets spreadsheet programs recognise UTF-8
        csv.writer(response).writerow([column.name for column in importer.columns])
        return response
