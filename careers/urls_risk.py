from django.urls import path

from careers import views_risk

app_name = "risk"
urlpatterns = [
    path("", views_risk.ScoreListView.as_view(), name="scores"),
    path("scores/<int:pk>/", views_risk.ScoreDetailView.as_view(), name="score-detail"),
    path("alerts/", views_risk.AlertListView.as_view(), name="alerts"),
    path("alerts/<int:pk>/", views_risk.AlertDetailView.as_view(), name="alert-detail"),
    path("settings/", views_risk.SettingsView.as_view(), name="settings"),
    path("backtest/", views_risk.BacktestView.as_view(), name="backtest"),
]
