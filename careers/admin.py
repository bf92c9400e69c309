"""Admin for job sequences and their levels (DOMAIN 4)."""
from django.contrib import admin

from careers.models import JobSequence, Level


class LevelInline(admin.TabularInline):
    model = Level
    fields = ["rank", "code", "name", "bonus_coefficient"]
    extra = 0
    ordering = ["rank"]


@admin.register(JobSequence)
class JobSequenceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "interview_interval_months"]
    search_fields = ["code", "name"]
    inlines = [LevelInline]


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ["sequence", "rank", "code", "name", "bonus_coefficient"]
    list_filter = ["sequence"]
    list_select_related = ["sequence"]
    search_fields = ["code", "name", "sequence__name"]
    ordering = ["sequence__code", "rank"]
