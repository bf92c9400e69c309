from django.urls import path

from clients import views, views_home, views_statements

app_name = "clients"
urlpatterns = [
    path("", views_home.ClientListView.as_view(), name="client-list"),
    path("complaints/", views_home.ComplaintListView.as_view(), name="complaint-list"),
    path("branches/", views.BranchListView.as_view(), name="branch-list"),
    path("branches/<str:code>/", views.BranchDetailView.as_view(), name="branch-detail"),
    path("branches/<str:code>/home/", views_home.BranchHomeView.as_view(), name="branch-home"),
    path("rms/<str:employee_no>/", views.RMBookView.as_view(), name="rm-book"),
    path("rms/<str:employee_no>/handover/", views.HandoverView.as_view(), name="handover"),
    path("client/<str:client_no>/", views.ClientDetailView.as_view(), name="client-detail"),
    path("client/<str:client_no>/interactions/new/", views.InteractionCreateView.as_view(),
         name="interaction-create"),
    path("client/<str:client_no>/complaints/new/", views.ComplaintOpenView.as_view(), name="complaint-open"),
    path("client/<str:client_no>/complaints/<int:pk>/resolve/", views.ComplaintResolveView.as_view(),
         name="complaint-resolve"),
    path("client/<str:client_no>/lost/", views.ClientLostView.as_view(), name="client-lost"),
    # Financial statements of credit clients (DOMAIN 2.3)
    path("statements/flags/", views_statements.StatementFlagListView.as_view(), name="statement-flags"),
    path("statements/upload/", views_statements.StatementUploadView.as_view(), name="statement-upload"),
    path("client/<str:client_no>/statements/new/", views_statements.StatementEditView.as_view(),
         name="statement-new"),
    path("client/<str:client_no>/statements/<str:period>/", views_statements.StatementEditView.as_view(),
         name="statement-edit"),
    path("client/<str:client_no>/statement-flags/<int:pk>/explain/",
         views_statements.StatementFlagExplainView.as_view(), name="statement-flag-explain"),
]
