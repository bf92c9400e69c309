"""The one API router (STYLE: rmportal/api_urls.py)."""
from django.urls import path
from rest_framework.routers import DefaultRouter

router = DefaultRouter()

urlpatterns = router.urls
