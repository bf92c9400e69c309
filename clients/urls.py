from django.urls import path

from clients import views

app_name = "clients"
urlpatterns = [
    path("branches/", views.BranchListView.as_view(), name="branch-list"),
    path("rms/<str:employee_no>/", views.RMBookView.as_view(), name="rm-book"),
]
