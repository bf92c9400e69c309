"""Admin for superusers: the organisation, clients and their data. Day-to-day changes to books go
through the portal's pages (and so through clients.services); the admin is for corrections."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from clients.models import (Assignment, Branch, BranchMonthCost, Client, ClientContribution, Complaint,
                            ContributionParameter, Employee, Interaction, MonthlyBusiness, Region, User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    pass


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "region"]
    list_filter = ["region"]
    list_select_related = ["region"]
    search_fields = ["code", "name"]


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ["employee_no", "name", "branch", "role", "level", "status", "hired_on", "left_on"]
    list_filter = ["role", "status", "branch__region", "branch"]
    list_select_related = ["branch", "level", "level__sequence"]
    search_fields = ["employee_no", "name", "email"]
    autocomplete_fields = ["user", "branch"]


class AssignmentInline(admin.TabularInline):
    """Read-only here: reassignments are made on the handover page so that the rules apply."""

    model = Assignment
    fields = ["rm", "started_on", "ended_on", "reason", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-started_on"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["client_no", "name", "client_type", "segment", "branch", "status", "opened_on", "lost_on"]
    list_filter = ["status", "segment", "client_type", "branch__region", "branch"]
    list_select_related = ["branch"]
    search_fields = ["client_no", "name"]
    autocomplete_fields = ["branch"]
    inlines = [AssignmentInline]


@admin.register(Assignment)
class AssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["client", "rm", "started_on", "ended_on", "reason"]
    list_filter = ["reason", ("ended_on", admin.EmptyFieldListFilter), "client__branch"]
    list_select_related = ["client", "rm"]
    search_fields = ["client__client_no", "client__name", "rm__employee_no", "rm__name"]
    autocomplete_fields = ["client", "rm"]
    date_hierarchy = "started_on"


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["occurred_on", "client", "kind", "score", "employee", "channel"]
    list_filter = ["kind", "score", "client__branch"]
    list_select_related = ["client", "employee"]
    search_fields = ["client__client_no", "client__name", "employee__employee_no", "comment"]
    autocomplete_fields = ["client", "employee"]
    date_hierarchy = "occurred_on"


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ["subject", "client", "rm", "opened_at", "due_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "client__branch"]
    list_select_related = ["client", "rm"]
    search_fields = ["subject", "client__client_no", "client__name", "rm__employee_no"]
    autocomplete_fields = ["client", "rm"]
    date_hierarchy = "opened_at"


@admin.register(MonthlyBusiness)
class MonthlyBusinessAdmin(admin.ModelAdmin):
    list_display = ["client", "month", "deposit_avg_balance", "loan_avg_balance", "wm_sales", "card_count"]
    list_filter = ["month", "client__branch"]
    list_select_related = ["client"]
    search_fields = ["client__client_no", "client__name"]
    autocomplete_fields = ["client"]
    date_hierarchy = "month"


@admin.register(ContributionParameter)
class ContributionParameterAdmin(SimpleHistoryAdmin):
    list_display = ["month", "branch", "key", "value"]
    list_filter = ["key", "month", "branch"]
    list_select_related = ["branch"]
    search_fields = ["branch__code", "key"]


class ComputedAdmin(admin.ModelAdmin):
    """Rows written by the contribution engine: shown, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ClientContribution)
class ClientContributionAdmin(ComputedAdmin):
    list_display = ["client", "month", "branch", "loan_profit", "deposit_profit", "wm_profit", "card_profit",
                    "capital_charge", "volume"]
    list_filter = ["month", "branch"]
    list_select_related = ["client", "branch"]
    search_fields = ["client__client_no", "client__name"]
    date_hierarchy = "month"


@admin.register(BranchMonthCost)
class BranchMonthCostAdmin(ComputedAdmin):
    list_display = ["branch", "month", "unit_cost_loan", "unit_cost_deposit", "unit_cost_wm", "unit_cost_card"]
    list_filter = ["month", "branch"]
    list_select_related = ["branch"]
