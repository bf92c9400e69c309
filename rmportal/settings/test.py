"""Test settings. In CI the suite must run on PostgreSQL: refuse to fall back to SQLite there."""
import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .base import DATABASES

if os.environ.get("CI") and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("CI runs the suite on PostgreSQL: set DATABASE_URL=postgres://…")

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in the test process (eagerly); tests/test_celery_e2e.py runs a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = True
LANGUAGE_CODE = "en"
# Each test process keeps its own cache (conftest.py empties it before every test).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}  # noqa: F405
