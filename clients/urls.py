from django.urls import path

from clients import views

app_name = "clients"
urlpatterns = [
    path("branches/", views.BranchListView.as_view(), name="branch-list"),
    path("branches/<str:code>/", views.BranchDetailView.as_view(), name="branch-detail"),
    path("rms/<str:employee_no>/", views.RMBookView.as_view(), name="rm-book"),
    path("rms/<str:employee_no>/handover/", views.HandoverView.as_view(), name="handover"),
    path("client/<str:client_no>/", views.ClientDetailView.as_view(), name="client-detail"),
    path("client/<str:client_no>/interactions/new/", views.InteractionCreateView.as_view(),
         name="interaction-create"),
    path("client/<str:client_no>/complaints/new/", views.ComplaintOpenView.as_view(), name="complaint-open"),
    path("client/<str:client_no>/complaints/<int:pk>/resolve/", views.ComplaintResolveView.as_view(),
         name="complaint-resolve"),
    path("client/<str:client_no>/lost/", views.ClientLostView.as_view(), name="client-lost"),
]
