from django.urls import path

from careers import views, views_attrition

app_name = "careers"
urlpatterns = [
    path("", views.CareersHomeView.as_view(), name="home"),
    path("sequences/", views.SequenceListView.as_view(), name="sequence-list"),
    path("sequences/new/", views.SequenceFormView.as_view(), name="sequence-create"),
    path("sequences/<str:code>/", views.SequenceDetailView.as_view(), name="sequence-detail"),
    path("sequences/<str:code>/edit/", views.SequenceFormView.as_view(), name="sequence-edit"),
    path("sequences/<str:code>/levels/new/", views.LevelFormView.as_view(), name="level-create"),
    path("sequences/<str:code>/levels/<str:level>/edit/", views.LevelFormView.as_view(), name="level-edit"),
    path("certificates/", views.CertificateTypeView.as_view(), name="certificate-types"),
    path("records/", views.RecordListView.as_view(), name="record-list"),
    path("records/<str:employee_no>/", views.RecordDetailView.as_view(), name="record"),
    path("records/<str:employee_no>/certificates/new/", views.CertificateAddView.as_view(), name="certificate-add"),
    path("records/<str:employee_no>/trainings/new/", views.TrainingAddView.as_view(), name="training-add"),
    path("records/<str:employee_no>/commendations/new/", views.CommendationAddView.as_view(),
         name="commendation-add"),
    path("records/<str:employee_no>/goals/new/", views.GoalAddView.as_view(), name="goal-add"),
    path("records/<str:employee_no>/goals/<int:pk>/status/", views.GoalStatusView.as_view(), name="goal-status"),
    path("records/<str:employee_no>/level/", views.LevelChangeView.as_view(), name="level-change"),
    path("records/<str:employee_no>/interviews/new/", views.InterviewScheduleView.as_view(),
         name="interview-schedule"),
    path("records/<str:employee_no>/interviews/held/", views.InterviewRecordView.as_view(), name="interview-record"),
    path("records/<str:employee_no>/interviews/<int:pk>/held/", views.InterviewRecordView.as_view(),
         name="interview-record-scheduled"),
    path("records/<str:employee_no>/exit/", views.ExitOpenView.as_view(), name="exit-open"),
    path("eligibility/", views.EligibilityView.as_view(), name="eligibility"),
    path("interviews/", views.InterviewListView.as_view(), name="interview-list"),
    path("exits/", views.ExitListView.as_view(), name="exit-list"),
    path("exits/<int:pk>/", views.ExitDetailView.as_view(), name="exit-detail"),
    path("attrition/", views_attrition.AttritionView.as_view(), name="attrition"),
]
