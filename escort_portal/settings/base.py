"""Settings shared by every environment; values come from the environment (see .env.example)."""

from __future__ import annotations

import datetime
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://localhost:8000")

# --- Tenancy: one PostgreSQL schema per police station, routed by /station/<slug>/ ---

SHARED_APPS = [
    "django_tenants",
    # Before the project's apps: it patches the migration autodetector they rely on when ready.
    "pgtrigger",
    "stations",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "phonenumber_field",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Recovery codes: shown once at enrolment, each good for one sign-in.
    "django_otp.plugins.otp_static",
    # The audit trail (escort_portal.audit); the public schema records users and roles.
    "pghistory",
    *["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"],  # the roster API
    # WhatsApp and SMS conversations: one platform number, so what it receives lives in public.
    "chat",
]
# Every station-owned table lives in the station's schema. Moving an app between these lists
# after stations exist would silently leave tables behind, so the split is fixed here.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.admin",
    # Each station's audit trail lives in its own schema, beside the tables it records.
    "pgtrigger",
    "pghistory",
    "lenders",
    "incidents",
    "escorts",
    "notifications",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

# migrate_schemas enters only the stations whose migrations differ from the template's
# (stations/migrating.py); `--executor=standard` enters every one.
GET_EXECUTOR_FUNCTION = "stations.migrating.get_executor"
TENANT_MODEL = "stations.Station"
TENANT_DOMAIN_MODEL = "stations.Domain"
TENANT_SUBFOLDER_PREFIX = "station"
TENANT_LIMIT_SET_CALLS = True
# New stations are cloned from this schema, which `migrate_schemas` keeps current.
TENANT_BASE_SCHEMA = "station_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
PUBLIC_SCHEMA_URLCONF = env("PUBLIC_SCHEMA_URLCONF", default="escort_portal.urls_public")
# How many stations' URLconfs (and resolvers, about 0.25 MB each) a process keeps; more stations
# than this served by one process rebuild theirs now and then (stations.middleware).
STATION_URLCONF_CACHE_SIZE = env.int("STATION_URLCONF_CACHE_SIZE", default=100)
ROOT_URLCONF = "escort_portal.urls_station"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]

DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default="postgres://postgres@127.0.0.1:5432/escort_portal",
        engine="django_tenants.postgresql_backend",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# The role web, worker and beat connect as, when it is not the owner of the schemas: migrations
# and create_station run as the owner and grant it its rights (stations/db_roles.py).
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE", default="")
# The app role's password, set by `grant_app_role --create-role` (compose's migrate service).
DATABASE_APP_PASSWORD = env("DATABASE_APP_PASSWORD", default="")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    "stations.middleware.StationSubfolderMiddleware",
    "stations.middleware.ApiBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "stations.sessions.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "stations.middleware.UserLanguageMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A repeated form POST or API write answers what the first one did (stations/replay.py).
    "stations.replay.SubmissionTokenMiddleware",
    "stations.replay.IdempotencyKeyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "django_ratelimit.middleware.RatelimitMiddleware",
]

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
                "stations.context_processors.station",
            ],
            # {% csrf_token %} also writes the form's one-time submission token.
            "builtins": [
                "stations.templatetags.submission",
                # After Django's own: its `date` and `time` filters, in the page's numerals.
                "stations.templatetags.native_digits",
            ],
        },
    }
]

WSGI_APPLICATION = "escort_portal.wsgi.application"

# --- People ---

AUTH_USER_MODEL = "stations.User"
# Paths, not URL names: station pages use another URLconf, where public names do not resolve.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username and address before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "stations.passwords.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Lock a username from one address after repeated wrong passwords; an officer-in-charge can
# unlock their station's people before the lock runs out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_CALLABLE = "escort_portal.lockouts.attempted_username"
# The client's address for lockouts and rate limits: X-Forwarded-For believed only as far as
# these reverse proxies (addresses or networks); none listed means REMOTE_ADDR.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "escort_portal.client_ip.client_ip"
RATELIMIT_IP_META_KEY = "escort_portal.client_ip.client_ip"

# Police and SDPO accounts need a second factor (a TOTP app) before any station page.
OTP_REQUIRED = env.bool("OTP_REQUIRED", default=True)
OTP_TOTP_ISSUER = "Escort Portal"
OTP_VERIFY_URL = "/accounts/two-factor/"
# How long an enrolment code stays good after the officer-in-charge issues it.
OTP_ENROLMENT_CODE_HOURS = env.int("OTP_ENROLMENT_CODE_HOURS", default=24)
OTP_RECOVERY_CODES = 10

# A session ends after this long without a request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=2 * 60 * 60)
# The expiry moves on at most once this often (stations/sessions.py), not with a write on
# every request.
SESSION_RENEW_SECONDS = env.int("SESSION_RENEW_SECONDS", default=5 * 60)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# A form refused for its token is told on the portal's own page, in the reader's language.
CSRF_FAILURE_VIEW = "stations.views.csrf_failure"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# No inline script anywhere: every script is a file of ours.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Rate limits (django-ratelimit for pages, DRF throttles for the API), counted in the cache.
RATELIMIT_VIEW = "stations.views.rate_limited"
RATE_LIMITS = {
    "login": env("RATE_LIMIT_LOGIN", default="10/m"),
    "signup": env("RATE_LIMIT_SIGNUP", default="5/m"),
    "upload": env("RATE_LIMIT_UPLOAD", default="20/m"),
    "password_reset": env("RATE_LIMIT_PASSWORD_RESET", default="5/h"),
}
# With Redis down the counters fall back to each process's memory (escort_portal/cache.py); the
# short timeouts keep a Redis that does not answer from holding up sign-in.
CACHES = {
    "default": {
        "BACKEND": "escort_portal.cache.RedisCacheWithLocalFallback",
        "LOCATION": env("CACHE_URL", default="redis://127.0.0.1:6379/1"),
        "KEY_PREFIX": "escort_portal",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# --- Language and time ---

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("bn", _("Bengali"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Our own date formats for English and Bengali, ahead of Django's per-language ones.
FORMAT_MODULE_PATH = ["escort_portal.formats"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Kolkata")
USE_TZ = True

# --- Static files: served by whitenoise, never from a CDN ---

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Only hashed names are ever linked, so the build keeps and compresses those alone, and never the
# source maps (12 of the 19 MB, fetched only by a browser's developer tools).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media/"

PHONENUMBER_DEFAULT_REGION = "IN"
PHONENUMBER_DEFAULT_FORMAT = "E164"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ---

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Escort Portal <noreply@localhost>")

# --- Jobs: Celery on Redis, schedules in the database ---

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# visibility_timeout: above the longest retry countdown, so a task waiting to retry is not
# handed out twice. priority_steps: a list in Redis per priority 0 (first) to 9, so the
# drafts of the cut-off are planned in the order their first trips leave (escorts.services).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "priority_steps": list(range(10))}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="escort_portal")
# The planner's builds have a queue of their own, so the minute jobs and the notifications
# never wait behind a morning of drafts. A worker started without --jobs (or -Q) takes both.
CELERY_PLANNING_QUEUE = env(
    "CELERY_PLANNING_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}_planning"
)
CELERY_TASK_QUEUES: dict[str, dict] = {CELERY_TASK_DEFAULT_QUEUE: {}, CELERY_PLANNING_QUEUE: {}}
CELERY_TASK_ROUTES = {"escorts.duty_sheet_build": {"queue": CELERY_PLANNING_QUEUE}}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat stores each job's last run as it sends it (not every 3 minutes), which is how /healthz
# and the sheet page tell "no scheduler" from "no worker".
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "stations.heartbeat_all_stations", "schedule": 60.0},
    "dashboard-recount": {"task": "stations.dashboard_recount", "schedule": 60.0},
    "escorts-tick": {"task": "escorts.tick_all_stations", "schedule": 60.0},
    "roster-reminders": {"task": "lenders.roster_reminders_all_stations", "schedule": 60.0},
    "sdpo-summary": {"task": "notifications.sdpo_summaries_send", "schedule": crontab(hour=19)},
    "retention": {
        "task": "lenders.retention_all_stations",
        "schedule": crontab(hour=2, minute=30),
    },
    "chat-purge": {"task": "chat.inbound_purge", "schedule": crontab(hour=2, minute=45)},
    "notifications-sweep": {
        "task": "notifications.message_sweep_all_stations",
        "schedule": env.float("NOTIFICATIONS_SWEEP_SECONDS", default=60.0),
    },
}
# Keep a task's database connection for this many tasks instead of reconnecting for each; a
# PostgreSQL backend keeps the catalog of every schema its connection entered, so this also
# bounds a worker connection's memory (README, A whole state).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
# A pool process is replaced after this many tasks: whatever one kept grows no further.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
# The minute jobs enter a station only when it has something due (stations.due); however far
# off that is, each station is entered at least this often, which catches a change that moved a
# due time without saying so.
STATION_JOB_SWEEP_MINUTES = env.int("STATION_JOB_SWEEP_MINUTES", default=60)
# A worker that has not recorded a heartbeat for this long is reported down by /healthz.
WORKER_HEARTBEAT_STALE_SECONDS = env.int("WORKER_HEARTBEAT_STALE_SECONDS", default=180)
# A sheet still building this long past its planner budget has lost its worker: the page says
# so and offers Rebuild, and the minute job may rebuild today's.
BUILD_GRACE_SECONDS = env.int("BUILD_GRACE_SECONDS", default=300)
# A claimed build no planning worker has started this long after its claim is taken to be lost
# with its message (a broker that lost its data): the minute job or a rebuild claims it again.
# Long enough for a morning's queue of drafts on a worker pool sized as the README says.
BUILD_QUEUE_SECONDS = env.int("BUILD_QUEUE_SECONDS", default=1800)

# An area with a snatching or an attempt is planned as high risk for this many days after it.
INCIDENT_RAISES_RISK_DAYS = env.int("INCIDENT_RAISES_RISK_DAYS", default=30)

# --- Demo data ---

DEMO_PASSWORD = env("DEMO_PASSWORD", default="escort-demo")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The operations log (escort_portal.oplog) is for production; runserver and Celery already
    # print a line per request and task in development.
    "loggers": {
        "escort_portal.requests": {"level": "WARNING"},
        "escort_portal.tasks": {"level": "WARNING"},
    },
}

# --- The roster API (lenders/api.py): a branch's key for every call unless a view says else ---

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["lenders.api_auth.BranchApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["lenders.api_auth.HasBranchApiKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["lenders.api_parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["lenders.api_auth.BranchKeyThrottle"],
    "DEFAULT_THROTTLE_RATES": {"branch_key": env("RATE_LIMIT_API", default="120/m")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Escort Portal roster API",
    "DESCRIPTION": (
        "For a lender branch's own systems: read the station's collection areas and the "
        "branch's field agents, and file the branch's roster for today or tomorrow. Every call "
        "carries the header `Authorization: Api-Key <key>`; the branch manager makes keys on "
        "the portal. The rules are those of the web form, with the same messages."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "lenders.api_schema.add_common_errors",
        "lenders.api_schema.state_the_date_rule",
    ],
}

# --- Notifications ---

# The backend class of each channel besides the portal's own inbox. SMS and WhatsApp are used
# only while their URL is set, so by default nothing leaves the machine (email: console).
NOTIFICATIONS_BACKENDS = {
    "email": env("NOTIFICATIONS_EMAIL_BACKEND", default="notifications.backends.mail.EmailBackend"),
    "sms": env("NOTIFICATIONS_SMS_BACKEND", default="notifications.backends.sms.HttpSmsBackend"),
    "whatsapp": env(
        "NOTIFICATIONS_WHATSAPP_BACKEND",
        default="notifications.backends.whatsapp.WhatsAppCloudBackend",
    ),
}
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_KEY = env("SMS_GATEWAY_KEY", default="")
SMS_SENDER_ID = env("SMS_SENDER_ID", default="")
SMS_DLT_ENTITY_ID = env("SMS_DLT_ENTITY_ID", default="")
# kind or kind.language = DLT template id, e.g. "sos.en=1107...,sos.bn=1107..."
SMS_DLT_TEMPLATE_IDS = env.dict("SMS_DLT_TEMPLATE_IDS", default={})
WHATSAPP_API_URL = env("WHATSAPP_API_URL", default="")
WHATSAPP_PHONE_NUMBER_ID = env("WHATSAPP_PHONE_NUMBER_ID", default="")
WHATSAPP_TOKEN = env("WHATSAPP_TOKEN", default="")
# kind = approved template name, where it is not the kind itself.
WHATSAPP_TEMPLATE_NAMES = env.dict("WHATSAPP_TEMPLATE_NAMES", default={})
NOTIFICATIONS_HTTP_TIMEOUT = env.float("NOTIFICATIONS_HTTP_TIMEOUT", default=10.0)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=6)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.float("NOTIFICATIONS_RETRY_BASE_SECONDS", default=15.0)
# Below the broker's visibility_timeout, so a retry waiting in Redis is not handed out twice.
NOTIFICATIONS_RETRY_MAX_SECONDS = env.float("NOTIFICATIONS_RETRY_MAX_SECONDS", default=600.0)
# Well above NOTIFICATIONS_HTTP_TIMEOUT: a row in sending this long belongs to a dead worker.
NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = env.int(
    "NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", default=300
)
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.int("NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=30)
NOTIFICATIONS_SWEEP_BATCH = env.int("NOTIFICATIONS_SWEEP_BATCH", default=500)

# --- WhatsApp and SMS conversations (chat) ---

# The Meta app's secret: every webhook POST is signed with it (X-Hub-Signature-256), and a POST
# whose signature does not match answers 403. Empty: the webhook refuses everything.
WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", default="")
# What Meta sends back in the webhook's GET handshake (hub.verify_token) when it is set up.
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", default="")
# The platform's WhatsApp number as people dial it (+91...), for the link on the profile page.
WHATSAPP_BUSINESS_NUMBER = env("WHATSAPP_BUSINESS_NUMBER", default="")
# The SMS gateway's inbound webhook sends this in X-Inbound-Secret; anything else answers 403.
SMS_INBOUND_SECRET = env("SMS_INBOUND_SECRET", default="")
# The number people text (the gateway's long code or virtual number), shown on the profile page.
SMS_INBOUND_NUMBER = env("SMS_INBOUND_NUMBER", default="")
# How long a code to link a phone stays good.
CHAT_LINK_CODE_MINUTES = env.int("CHAT_LINK_CODE_MINUTES", default=15)
# Received messages (numbers, what came of them; their text is dropped once processed) are
# deleted after this many days.
CHAT_KEEP_DAYS = env.int("CHAT_KEEP_DAYS", default=30)
