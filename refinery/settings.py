"""Refinery settings. Everything that differs between machines comes from the environment.

See the README's "Configuration" section for the full list of variables. Production hardening
lives in ``refinery.settings_production`` (``DJANGO_SETTINGS_MODULE=refinery.settings_production``).
"""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),  # the test client's "testserver" is added by Django's test set-up
    CSRF_TRUSTED_ORIGINS=(list, []),
    REFINERY_DATA_DIR=(str, str(BASE_DIR / "var")),
    LABEL_STUDIO_URL=(str, ""),
    LABEL_STUDIO_API_KEY=(str, ""),
    LABEL_STUDIO_WEBHOOK_SECRET=(str, ""),
    REFINERY_TASKS_BACKEND=(str, "db"),
    REDIS_URL=(str, "redis://127.0.0.1:6379/0"),
    REFINERY_MAX_UPLOAD_MB=(int, 200),
    REFINERY_MAX_FILE_MB=(int, 100),
    REFINERY_ZIP_MAX_FILES=(int, 10_000),
    REFINERY_ZIP_MAX_TOTAL_MB=(int, 2_000),
    REFINERY_ZIP_MAX_RATIO=(int, 100),
    REFINERY_PIPELINE_EXECUTOR=(str, "local"),
    RAY_ADDRESS=(str, ""),
)
# A .env file beside manage.py is read if present (never committed).
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# Development default only; production settings refuse to start without SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="dev-insecure-refinery-key-change-me-0123456789abcdefghijklmnop")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

# ---------------------------------------------------------------- data directory
DATA_DIR = Path(env("REFINERY_DATA_DIR")).resolve()
UPLOADS_DIR = DATA_DIR / "uploads"          # raw files as ingested, by content hash
EXPORTS_DIR = DATA_DIR / "exports"          # dataset versions
MODELS_DIR = DATA_DIR / "models"            # base models (the bundled one is converted here)
ADAPTERS_DIR = DATA_DIR / "adapters"        # trained LoRA adapters
RUNS_DIR = DATA_DIR / "runs"                # training run folders (config, log, checkpoints)
PIPELINE_DIR = DATA_DIR / "pipeline"        # pipeline run artefacts
NLTK_DATA_DIR = DATA_DIR / "nltk_data"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

# ---------------------------------------------------------------- apps
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "refinery",
    "curation",
    "annotation",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires login unless the view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "refinery.audit.AuditUserMiddleware",
    "refinery.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "refinery.urls"
WSGI_APPLICATION = "refinery.wsgi.application"
ASGI_APPLICATION = "refinery.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "refinery.roles.role_context",
            ],
        },
    },
]

# ---------------------------------------------------------------- database
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'refinery.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web server and the task worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# Lets parallel test sessions (or CI's second pass) use their own test database.
if env("REFINERY_TEST_DB_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("REFINERY_TEST_DB_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------- background tasks
# Django's Tasks API (django-tasks backport). "db" = django-tasks-db, run `manage.py db_worker`;
# "rq" = Redis/RQ for teams (`manage.py rqworker default`); "immediate" runs inline (tests).
_tasks_backend = env("REFINERY_TASKS_BACKEND")
if _tasks_backend == "rq":
    INSTALLED_APPS.append("django_tasks_rq")
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": env("REDIS_URL"), "DEFAULT_TIMEOUT": 60 * 60 * 12}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif _tasks_backend == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A running job whose heartbeat (any progress or message) is older than this, and whose worker process
# is gone, is failed as "worker died" (refinery.jobs.job_reap_stale, `manage.py reap_jobs`).
JOB_STALE_MINUTES = env.float("REFINERY_JOB_STALE_MINUTES", default=5.0)

# ---------------------------------------------------------------- auth
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# ---------------------------------------------------------------- i18n / static
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
def _plotly_js_dir() -> str:
    import plotly

    return str(Path(plotly.__file__).parent / "package_data")


# Vendored front-end assets are served locally (no CDN): our static/, plotly.js from the plotly
# wheel (``{% static 'plotly/plotly.min.js' %}``), Swagger UI from drf-spectacular-sidecar.
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", _plotly_js_dir())]
STATIC_ROOT = DATA_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from STATICFILES_DIRS without collectstatic in dev

# ---------------------------------------------------------------- uploads and ingest limits
MAX_UPLOAD_BYTES = env("REFINERY_MAX_UPLOAD_MB") * 1024 * 1024
MAX_FILE_BYTES = env("REFINERY_MAX_FILE_MB") * 1024 * 1024
ZIP_MAX_FILES = env("REFINERY_ZIP_MAX_FILES")
ZIP_MAX_TOTAL_BYTES = env("REFINERY_ZIP_MAX_TOTAL_MB") * 1024 * 1024
ZIP_MAX_RATIO = env("REFINERY_ZIP_MAX_RATIO")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# ---------------------------------------------------------------- integrations
LABEL_STUDIO_URL = env("LABEL_STUDIO_URL")
LABEL_STUDIO_API_KEY = env("LABEL_STUDIO_API_KEY")
# Label Studio stores this secret and sends it back in a header, so by default it is an HMAC of
# SECRET_KEY under a fixed label (it reveals nothing of SECRET_KEY), never a piece of SECRET_KEY.
LABEL_STUDIO_WEBHOOK_SECRET = env("LABEL_STUDIO_WEBHOOK_SECRET") or hmac.new(
    SECRET_KEY.encode(), b"refinery:label-studio-webhook-secret:v1", hashlib.sha256).hexdigest()
LABEL_STUDIO_RECONCILE_SECONDS = env.float("LABEL_STUDIO_RECONCILE_SECONDS", default=600.0)  # periodic pull
PIPELINE_EXECUTOR = env("REFINERY_PIPELINE_EXECUTOR")  # "local" or "ray"
RAY_ADDRESS = env("RAY_ADDRESS")  # empty = start Ray locally
TRAIN_LAUNCHER = env("REFINERY_TRAIN_LAUNCHER", default="python")  # "accelerate" = accelerate launch (multi-GPU)

# ---------------------------------------------------------------- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    # Any role (annotator, curator, admin); endpoints narrow it down. A user without a role gets 403.
    "DEFAULT_PERMISSION_CLASSES": ["refinery.roles.IsAnnotator"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Refinery API",
    "DESCRIPTION": "From raw domain documents to LoRA adapters: ingest, curate, annotate, export, train.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["refinery.roles.IsCurator"],  # schema + docs: curators and admins (annotators: 403)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have their own `status` choices; give each choice set one stable enum name.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": [("queued", "Queued"), ("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed"), ("cancelled", "Cancelled")],  # jobs, pipeline/training runs
        "SourceFileStatusEnum": [("ingested", "Ingested"), ("partial", "Partial"), ("error", "Error")],
        "DocumentStatusEnum": [("active", "Active"), ("excluded", "Excluded")],
        "DatasetVersionStatusEnum": [("building", "Building"), ("ready", "Ready"), ("failed", "Failed")],
        "AdapterStatusEnum": [("ready", "Ready"), ("archived", "Archived")],
        "AssignmentStatusEnum": [("pending", "Pending"), ("done", "Done"), ("skipped", "Skipped")],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
