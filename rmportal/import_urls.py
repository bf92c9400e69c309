from django.urls import path

from rmportal import import_views

app_name = "imports"
urlpatterns = [
    path("", import_views.ImportUploadView.as_view(), name="upload"),
    path("<int:pk>/", import_views.ImportJobView.as_view(), name="job"),
    path("<int:pk>/confirm/", import_views.ImportJobConfirmView.as_view(), name="confirm"),
    path("batches/<int:pk>/", import_views.ImportBatchView.as_view(), name="batch"),
    path("batches/<int:pk>/undo/", import_views.ImportBatchUndoView.as_view(), name="undo"),
    path("<int:pk>/retry/", import_views.ImportJobRetryView.as_view(), name="job-retry"),
    path("<slug:kind>/template.csv", import_views.ImportTemplateView.as_view(), name="template"),
]
