"""Admin for superusers: schemes, targets and budgets are maintained here; appraisals, bonus
statements and the pool ledger are shown for inspection only, since they change through the
workflow and pool services (performance.workflow, performance.bonus) that keep their rules and
history. Scheme files from head office can be loaded here as in ``import_scheme`` (DOMAIN 3.1.1)."""
import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from performance.models import (Appraisal, AppraisalLine, BonusStatement, Budget, Indicator, PerformancePool,
                                PoolEntry, Scheme, Signal, Target)
from performance.schemes import scheme_import
from rmportal.errors import ApplicationError
from rmportal.validators import validate_upload_size


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the services: shown, never edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyHistoryAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    pass


class IndicatorInline(admin.TabularInline):
    model = Indicator
    fields = ["position", "code", "name", "category", "source", "metric", "weight", "method", "target", "cap",
              "ceiling", "bands", "applies_month", "applies_quarter", "applies_year"]
    extra = 0
    ordering = ["position"]


class SchemeFileForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Scheme file (JSON)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        validate_upload_size(upload, limit=settings.UPLOAD_MAX_BYTES)
        return upload


@admin.register(Scheme)
class SchemeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "branch", "is_active", "contribution_method", "pool_rate"]
    list_filter = ["is_active", "contribution_method", "branch__region"]
    list_select_related = ["branch"]
    search_fields = ["code", "name", "branch__code"]
    autocomplete_fields = ["branch"]
    raw_id_fields = ["template"]
    inlines = [IndicatorInline]
    change_list_template = "performance/admin_scheme_changelist.html"

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="performance_scheme_import"),
                *super().get_urls()]

    def import_view(self, request):
        """Loads a scheme file through the same service as ``manage.py import_scheme``."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = SchemeFileForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                data = json.loads(form.cleaned_data["file"].read().decode("utf-8-sig"))
                scheme = scheme_import(data=data, by=request.user)
            except (ValueError, UnicodeDecodeError) as exc:
                form.add_error("file", _("The scheme file cannot be read: %(error)s") % {"error": exc})
            except ApplicationError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(request, _("Scheme %(code)s loaded.") % {"code": scheme.code}, messages.SUCCESS)
                return redirect(reverse("admin:performance_scheme_change", args=[scheme.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": _("Load a scheme file")}
        return TemplateResponse(request, "performance/admin_scheme_import.html", context)


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["scheme", "position", "code", "name", "category", "method", "weight"]
    list_filter = ["category", "method", "source", "scheme"]
    list_select_related = ["scheme"]
    search_fields = ["code", "name", "scheme__code"]


@admin.register(Target)
class TargetAdmin(SimpleHistoryAdmin):
    list_display = ["employee", "indicator", "period", "value"]
    list_filter = ["period", "indicator__scheme"]
    list_select_related = ["employee", "indicator"]
    search_fields = ["employee__employee_no", "employee__name", "indicator__code"]
    autocomplete_fields = ["employee"]
    raw_id_fields = ["indicator"]


@admin.register(Budget)
class BudgetAdmin(SimpleHistoryAdmin):
    list_display = ["branch", "period", "amount"]
    list_filter = ["period", "branch__region"]
    list_select_related = ["branch"]
    search_fields = ["branch__code", "branch__name", "period"]
    autocomplete_fields = ["branch"]


class AppraisalLineInline(admin.TabularInline):
    model = AppraisalLine
    fields = ["indicator", "weight", "actual", "target", "manual_score", "points"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Appraisal)
class AppraisalAdmin(ReadOnlyHistoryAdmin):
    list_display = ["employee", "branch", "period", "state", "total", "grade", "appealed", "computed_at"]
    list_filter = ["state", "grade", "period_kind", "period", "branch__region", "branch"]
    list_select_related = ["employee", "branch"]
    search_fields = ["employee__employee_no", "employee__name", "period"]
    inlines = [AppraisalLineInline]


@admin.register(AppraisalLine)
class AppraisalLineAdmin(ReadOnlyHistoryAdmin):
    list_display = ["appraisal", "indicator", "weight", "actual", "target", "manual_score", "points"]
    list_filter = ["indicator__method", "appraisal__period"]
    list_select_related = ["appraisal", "indicator"]
    search_fields = ["appraisal__employee__employee_no", "indicator__code"]


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ["employee", "kind", "period", "detail", "created_at", "closed_at"]
    list_filter = ["kind", "period"]
    list_select_related = ["employee"]
    search_fields = ["employee__employee_no", "employee__name"]


@admin.register(BonusStatement)
class BonusStatementAdmin(ReadOnlyAdmin):
    list_display = ["employee", "branch", "period", "level_coefficient", "grade_coefficient", "bonus", "withheld",
                    "paid"]
    list_filter = ["period", "branch__region", "branch"]
    list_select_related = ["employee", "branch"]
    search_fields = ["employee__employee_no", "employee__name"]


@admin.register(PerformancePool)
class PerformancePoolAdmin(ReadOnlyAdmin):
    list_display = ["branch", "balance"]
    list_select_related = ["branch"]
    search_fields = ["branch__code", "branch__name"]


@admin.register(PoolEntry)
class PoolEntryAdmin(ReadOnlyAdmin):
    """The ledger is append-only (DOMAIN 3.5)."""

    list_display = ["pk", "pool", "kind", "period", "employee", "amount", "reason", "balance_after", "created_by",
                    "created_at"]
    list_filter = ["kind", "reason", "period", "pool__branch"]
    list_select_related = ["pool__branch", "employee", "created_by"]
    search_fields = ["employee__employee_no", "employee__name", "justification"]
