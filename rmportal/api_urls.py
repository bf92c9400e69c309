"""The one API router (STYLE: rmportal/api_urls.py): every viewset of /api/v1/ is registered here."""
from django.http import JsonResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from rest_framework.routers import DefaultRouter

from careers.api import views as careers
from clients.api import views as clients
from performance.api import views as performance
from rmportal.api.imports import ImportViewSet

router = DefaultRouter()
# Organisation and clients
router.register("regions", clients.RegionViewSet, basename="region")
router.register("branches", clients.BranchViewSet, basename="branch")
router.register("employees", clients.EmployeeViewSet, basename="employee")
router.register("clients", clients.ClientViewSet, basename="client")
# Performance
router.register("schemes", performance.SchemeViewSet, basename="scheme")
router.register("appraisals", performance.AppraisalViewSet, basename="appraisal")
router.register("bonus-statements", performance.BonusStatementViewSet, basename="bonus-statement")
router.register("pools", performance.PerformancePoolViewSet, basename="pool")
router.register("pool-entries", performance.PoolEntryViewSet, basename="pool-entry")
router.register("scheduled-runs", performance.ScheduledRunViewSet, basename="scheduled-run")
# Careers and retention risk
router.register("level-changes", careers.LevelChangeViewSet, basename="level-change")
router.register("certificates", careers.CertificateViewSet, basename="certificate")
router.register("trainings", careers.TrainingViewSet, basename="training")
router.register("commendations", careers.CommendationViewSet, basename="commendation")
router.register("career-goals", careers.CareerGoalViewSet, basename="career-goal")
router.register("career-interviews", careers.CareerInterviewViewSet, basename="career-interview")
router.register("exits", careers.ExitViewSet, basename="exit")
router.register("risk-scores", careers.RiskScoreViewSet, basename="risk-score")
router.register("risk-alerts", careers.RiskAlertViewSet, basename="risk-alert")
# Business data in
router.register("imports", ImportViewSet, basename="import")



def not_found(request, path=""):
    """Any other address under /api/v1/ is answered in the API's error shape."""
    return JsonResponse({"detail": _("Not found."), "errors": {}}, status=404)


urlpatterns = [*router.urls, re_path(r"^(?P<path>.*)$", not_found)]
