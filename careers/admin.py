"""Admin for job sequences, levels and certificates (DOMAIN 4). Career records are kept through
the career pages, whose services hold the rules; the admin only shows them."""
from django.contrib import admin

from careers.models import (CareerGoal, CareerInterview, Certificate, CertificateType, Commendation, Exit,
                            ExitHandover, JobSequence, Level, LevelChange, Training)


class LevelInline(admin.TabularInline):
    model = Level
    fields = ["rank", "code", "name", "bonus_coefficient", "min_months_at_level", "good_grades_required",
              "good_grades_window", "training_hours_per_year", "min_book_size"]
    extra = 0
    ordering = ["rank"]


@admin.register(JobSequence)
class JobSequenceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "interview_interval_months", "norm_months_at_level", "norm_book_size"]
    search_fields = ["code", "name"]
    inlines = [LevelInline]


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ["sequence", "rank", "code", "name", "bonus_coefficient", "min_months_at_level",
                    "good_grades_required", "good_grades_window", "training_hours_per_year", "min_book_size"]
    list_filter = ["sequence"]
    list_select_related = ["sequence"]
    search_fields = ["code", "name", "sequence__name"]
    ordering = ["sequence__code", "rank"]
    filter_horizontal = ["required_certificates"]


@admin.register(CertificateType)
class CertificateTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, not edited: the career pages record these through careers.services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LevelChange)
class LevelChangeAdmin(ReadOnlyAdmin):
    list_display = ["employee", "kind", "effective_on", "from_level", "to_level", "from_branch", "to_branch"]
    list_filter = ["kind"]
    list_select_related = ["employee", "from_level__sequence", "to_level__sequence", "from_branch", "to_branch"]
    search_fields = ["employee__employee_no", "employee__name"]
    date_hierarchy = "effective_on"


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyAdmin):
    list_display = ["employee", "certificate_type", "obtained_on", "expires_on", "number"]
    list_filter = ["certificate_type"]
    list_select_related = ["employee", "certificate_type"]
    search_fields = ["employee__employee_no", "employee__name", "number"]


@admin.register(Training)
class TrainingAdmin(ReadOnlyAdmin):
    list_display = ["employee", "title", "completed_on", "hours"]
    list_select_related = ["employee"]
    search_fields = ["employee__employee_no", "employee__name", "title"]


@admin.register(Commendation)
class CommendationAdmin(ReadOnlyAdmin):
    list_display = ["employee", "title", "awarded_on", "awarded_by"]
    list_select_related = ["employee"]
    search_fields = ["employee__employee_no", "employee__name", "title"]


@admin.register(CareerGoal)
class CareerGoalAdmin(ReadOnlyAdmin):
    list_display = ["employee", "target_level", "target_date", "status", "created_on"]
    list_filter = ["status"]
    list_select_related = ["employee", "target_level__sequence"]
    search_fields = ["employee__employee_no", "employee__name"]


@admin.register(CareerInterview)
class CareerInterviewAdmin(ReadOnlyAdmin):
    list_display = ["employee", "scheduled_on", "held_on", "interviewer", "outcome"]
    list_filter = ["outcome"]
    list_select_related = ["employee", "interviewer"]
    search_fields = ["employee__employee_no", "employee__name"]


class ExitHandoverInline(admin.TabularInline):
    model = ExitHandover
    fields = ["client", "to_rm", "handed_over_on"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Exit)
class ExitAdmin(ReadOnlyAdmin):
    list_display = ["employee", "exit_on", "voluntary", "reason", "status", "destination"]
    list_filter = ["status", "reason", "voluntary"]
    list_select_related = ["employee"]
    search_fields = ["employee__employee_no", "employee__name", "destination"]
    inlines = [ExitHandoverInline]
