from django.urls import path

from performance import views

app_name = "performance"
urlpatterns = [
    path("appraisals/", views.AppraisalListView.as_view(), name="appraisal-list"),
    path("appraisals/run/", views.AppraisalRunView.as_view(), name="appraisal-run"),
    path("appraisals/<int:pk>/", views.AppraisalDetailView.as_view(), name="appraisal-detail"),
    path("queue/", views.QueueView.as_view(), name="queue"),
    path("queue/approve-period/", views.PeriodApproveView.as_view(), name="period-approve"),
    path("calibration/", views.CalibrationView.as_view(), name="calibration"),
    path("schemes/copy/", views.SchemeCopyView.as_view(), name="scheme-copy"),
    path("mine/", views.MyAppraisalsView.as_view(), name="mine"),
    path("bonus/", views.BonusStatementsView.as_view(), name="bonus"),
    path("pools/", views.PoolListView.as_view(), name="pool-list"),
    path("pools/<str:code>/", views.PoolDetailView.as_view(), name="pool-detail"),
]
