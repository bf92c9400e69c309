"""The upload page for imports (DOMAIN 6): HR picks a kind, uploads a file, reads the report."""
import csv

from django import forms
from django.http import Http404, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import FormView

from rmportal import scoping
from rmportal.errors import ApplicationError
from rmportal.importing import XLSX_SUFFIXES, ImportRejected, importer_kinds, run_import
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
        return super().get_context_data(kinds=kinds_for(self.request.user), **kwargs)

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            result = run_import(form.cleaned_data["kind"], upload, filename=upload.name, user=self.request.user)
        except ImportRejected as exc:
            return self.render_to_response(self.get_context_data(form=form, rejected=exc))
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            return self.form_invalid(form)
        fresh = self.get_form_class()(user=self.request.user, initial={"kind": form.cleaned_data["kind"]})
        return self.render_to_response(self.get_context_data(form=fresh, result=result))


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
