"""Settings shared by every environment; everything that differs comes from the environment."""
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import plotly
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("RMPORTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
# Off unless DJANGO_DEBUG=1: Django's debug pages show settings and data to whoever hits an error.
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver then serves static files the way production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "django_htmx",
    "simple_history",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "clients",
    "performance",
    "careers",
    "axes",
    "csp",
    "rmportal.apps.RmportalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rmportal.middleware.ControlCharactersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "rmportal.middleware.SessionRenewalMiddleware",
    "rmportal.middleware.ReadOnlyAccountMiddleware",
    "rmportal.middleware.NoStoreMiddleware",
    # After the others: it runs the view of a post with a form token, once per token.
    "rmportal.form_tokens.OneTimeFormMiddleware",
    # Last, as django-axes requires: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rmportal.urls"
WSGI_APPLICATION = "rmportal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rmportal.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'rmportal.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default runs web, worker and beat on one file: writers take the lock when
    # their transaction begins (no deadlocked upgrade from a read), wait up to 30 s for it, and
    # readers never block the writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "clients.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out user name and address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "rmportal.authentication.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: after AXES_FAILURE_LIMIT wrong passwords for one user name from one address,
# that pair is locked for AXES_LOCKOUT_MINUTES (each further attempt restarts the wait). Attempts
# are kept in the database (never only in the cache, so a Redis outage does not lift a lockout);
# HR releases accounts on the locked-accounts page or in the admin.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "rmportal.lockouts.lockout_response"
# The address counted: the connection's, or behind a proxy (DJANGO_BEHIND_PROXY) the one it forwards.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY")
AXES_CLIENT_IP_CALLABLE = "rmportal.authentication.client_address"

# A session ends after SESSION_IDLE_SECONDS without a request (rmportal.middleware.SessionRenewalMiddleware
# renews it, at most once a minute).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_SECONDS", "1800"))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy: only the portal's own scripts, styles, images and forms; no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("BANK_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # The charting library ships inside the plotly package; served from here, never from a CDN.
    ("vendor/plotly", Path(plotly.__file__).parent / "package_data"),
]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files in every environment, DEBUG or not. Here straight from the
# source folders (nothing to collect for `make run`); production serves what `collectstatic`
# gathered into STATIC_ROOT, with hashed names cached for a year and gzip copies.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

MEDIA_ROOT = VAR_DIR / "media"
# Uploaded imports can be large; stream them to disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
MB = 1024 * 1024
# Import files (page, API, command): a year of monthly data for a large branch network as CSV is
# well under 100 MB. Other uploads (an RM's statements, a scheme file) are a few KB.
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", 100 * MB))
UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 5 * MB))
# A request body that is not a file: the API's JSON rows are an import, but JSON parses into
# Python objects ~10 times its size inside the web worker, so it stops at 50 MB (send larger
# imports as a CSV file).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE",
                                                 min(IMPORT_MAX_UPLOAD_BYTES, 50 * MB)))
# An XLSX file is a ZIP archive, checked before it is opened. Real workbooks hold 5-10 times
# their size as XML; 20 times the upload limit leaves room, and 1 GB bounds the time a worker
# spends reading one (openpyxl streams the sheet, so this is time, not memory).
XLSX_MAX_UNCOMPRESSED_BYTES = int(os.environ.get("XLSX_MAX_UNCOMPRESSED_BYTES",
                                                 min(20 * IMPORT_MAX_UPLOAD_BYTES, 1024 * MB)))
# No member of a real workbook compresses better than 100:1 once it is over 1 MB; a bomb does.
XLSX_MAX_COMPRESSION_RATIO = int(os.environ.get("XLSX_MAX_COMPRESSION_RATIO", 100))
# openpyxl holds every shared string in memory (about three times the XML's size in Python
# strings): 64 MB of XML is some 500,000 distinct client numbers and names.
XLSX_MAX_SHARED_STRINGS_BYTES = int(os.environ.get("XLSX_MAX_SHARED_STRINGS_BYTES", 64 * MB))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "rmportal@bank.local")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "rmportal.api.permissions.ReadOnlyServiceAccount",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "rmportal.api.parsers.DecimalJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["rmportal.api.filters.ScopedFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rmportal.api.pagination.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "rmportal.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "rmportal.api.exceptions.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "PAGE_SIZE": 50,
    # Per token (per user): API_THROTTLE_RATE is "requests/period", period s, m, h or d.
    "DEFAULT_THROTTLE_CLASSES": ["rmportal.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": os.environ.get("API_THROTTLE_RATE", "3000/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RM Portal API",
    "DESCRIPTION": _(
        "Appraisal data out, business data in. Authenticate with `Authorization: Token <key>` "
        "(`python manage.py drf_create_token EMPLOYEE_NO`); a token sees what its user sees on the pages, "
        "and another branch's object answers 404. Accounts in the group api-readonly may only read. "
        "Amounts are decimal strings, dates ISO 8601, months YYYY-MM; every error is "
        "`{\"detail\": ..., \"errors\": {...}}`."
    ),
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No online validator badge: the docs page must not reach outside the bank.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema lists every resource and field: only for logged-in users and tokens.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery: Redis when REDIS_URL is set, otherwise the filesystem broker under var/ so that
# nothing needs a server for `make run`.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Several portals (or a test run) may share one Redis: each consumes its own queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "rmportal")
CELERY_RESULT_EXPIRES = 7 * 24 * 60 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # A task is acknowledged when it has finished, so a worker lost mid-run hands it to another;
    # every task is idempotent, so running one twice is harmless.
    CELERY_TASK_ACKS_LATE = True
    CELERY_TASK_REJECT_ON_WORKER_LOST = True
    # Redis redelivers an unacknowledged task after the visibility timeout: longer than the
    # longest task and the longest retry countdown.
    # A broker that does not answer must fail a publish within seconds (the page then says
    # nothing was started), not hang the request.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60, "socket_connect_timeout": 2,
                                       "socket_timeout": 5}
    CELERY_BROKER_CONNECTION_TIMEOUT = 2
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
    CELERY_REDIS_SOCKET_TIMEOUT = 5
else:
    _broker_dir = VAR_DIR / "celery"
    for _sub in ("in", "processed", "results", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "in"),
        "data_folder_out": str(_broker_dir / "in"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
    CELERY_RESULT_BACKEND = f"file://{_broker_dir / 'results'}"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Times are the bank's (CELERY_TIMEZONE). A run that no worker took before it expires is dropped
# rather than run late; HR can start it from the operations page.
CELERY_BEAT_SCHEDULE = {
    # On the 1st: last month's appraisals (and the quarter's or the year's when one has just
    # ended), then last month's retention-risk scores.
    "monthly-appraisals-and-retention": {
        "task": "performance.tasks.monthly_run",
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
        "options": {"expires": 12 * 60 * 60},
    },
    # Every morning: overdue career interviews and expiring certificates to branch managers and HR.
    "daily-reminders": {
        "task": "careers.tasks.reminders_daily",
        "schedule": crontab(minute=0, hour=7),
        "options": {"expires": 6 * 60 * 60},
    },
    # Every night: spent form tokens older than a week are forgotten.
    "form-tokens-forget": {
        "task": "clients.tasks.form_submissions_forget_task",
        "schedule": crontab(minute=40, hour=3),
        "options": {"expires": 6 * 60 * 60},
    },
    # Every minute: import jobs whose worker stopped beating (it died) are marked failed.
    "import-sweep": {
        "task": "clients.tasks.import_jobs_sweep",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
}

# One cache shared by every worker process (the dashboards' figures, rmportal.dashboard_cache;
# the API throttle): Redis when REDIS_URL is set, otherwise files under var/. Its keys carry the
# database's name, so that portals (or a benchmark) sharing a Redis or a var/ never mix figures.
_database = DATABASES["default"]
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX") or "rmportal-" + hashlib.sha256(
    f'{_database.get("HOST", "")}:{_database.get("PORT", "")}/{_database.get("NAME", "")}'.encode()).hexdigest()[:12]
if REDIS_URL:
    # Fails open: with Redis down the pages and the API answer uncached and unthrottled.
    CACHES = {"default": {"BACKEND": "rmportal.cache.FailOpenRedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": CACHE_KEY_PREFIX}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache"), "KEY_PREFIX": CACHE_KEY_PREFIX,
                          "OPTIONS": {"MAX_ENTRIES": 5000}}}
DASHBOARD_CACHE_SECONDS = int(os.environ.get("DASHBOARD_CACHE_SECONDS", str(6 * 60 * 60)))
"""How long dashboard figures are kept at most; the jobs that change the data drop them sooner."""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
