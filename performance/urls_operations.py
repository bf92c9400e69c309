from django.urls import path

from performance import views_operations

app_name = "operations"
urlpatterns = [
    path("", views_operations.OperationsView.as_view(), name="runs"),
    path("progress/", views_operations.RunProgressView.as_view(), name="run-progress"),
]
