"""FaceConsent settings, read from the environment (see .env.example for every variable).

With nothing set, the embedded default runs: a SQLite file under var/, Celery tasks run
in-process, a cache in a table of that database and mail printed to the console, so a fresh
clone needs no outside service. Setting DATABASE_URL marks a real deployment: it then fails
closed (no default secret key, Redis required beside PostgreSQL). DEBUG is off unless asked for in
every mode.
REDIS_URL brings Redis as cache, broker and result backend, with real workers.
"""

import os
import secrets
import urllib.parse
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)

env = environ.Env()

# A deployment names its database; the embedded default does not.
EMBEDDED = not env.str("DATABASE_URL", default="")

if EMBEDDED:
    # var/ holds the database, the keys, the broker's messages and their results: personal data,
    # readable by this user alone. Files made from here on are 600; those an older checkout made
    # are closed too.
    os.umask(0o077)
    VAR_DIR.chmod(0o700)
    for _held in VAR_DIR.glob("faceconsent.sqlite3*"):
        _held.chmod(0o600)


def _embedded_secret_key() -> str:
    """A per-checkout key for the embedded default, kept so sessions survive restarts."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# Off unless a developer asks (DEBUG=true), the embedded default included: with it on, Django shows
# its technical pages (every URL, tracebacks) instead of the product's error pages
# (docs/decisions/0001-embedded-default-and-deployment-mode.md).
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or (_embedded_secret_key() if EMBEDDED else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DATABASE_URL is set.")


def _site_url_for_bind(bind: str) -> str:
    """Where a server listening at `bind` (gunicorn's HOST:PORT) is reached; every interface means this machine."""
    if bind.startswith(("unix:", "fd://")):
        return "http://127.0.0.1:8000"
    try:
        parts = urllib.parse.urlsplit(f"http://{bind}")
        host, port = parts.hostname or "", parts.port or 8000
    except ValueError as error:
        raise ImproperlyConfigured(f"BIND is not HOST:PORT: {bind!r}") from error
    every_interface = ("", "0.0.0.0", "::")  # noqa: S104  (recognised here, not bound to)
    host = "127.0.0.1" if host in every_interface else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# The address people reach the portal at, used in mails, receipts and the demo's instructions. Unless
# named, it is where `make run` and `manage.py serve` listen (BIND, which they pass to every process).
SITE_URL = env.str("SITE_URL", default="").rstrip("/") or _site_url_for_bind(env.str("BIND", default="127.0.0.1:8000"))
_site_host = urllib.parse.urlsplit(SITE_URL).hostname or "127.0.0.1"
_site_host = f"[{_site_host}]" if ":" in _site_host else _site_host  # how Django names an IPv6 host
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=sorted({"127.0.0.1", "localhost", _site_host}) if EMBEDDED else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.admin_apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "biometrics",
    "consent",
    "stores",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside every other part (error pages under /api/ reshaped included), inside WhiteNoise (static
    # files keep their cache life).
    "portal.headers.SecurityHeadersMiddleware",
    "core.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.staff.middleware.StaffSecondFactorMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "portal.middleware.UserTimeZoneMiddleware",
    "portal.middleware.LastUseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "portal.context_processors.unread_notifications",
                "portal.context_processors.staff_console",
            ],
        },
    },
]

# Database -------------------------------------------------------------------------------
# The web server and worker processes share a SQLite file: WAL lets them read while another
# writes, IMMEDIATE makes writers queue instead of failing with "database is locked".
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if EMBEDDED:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "faceconsent.sqlite3",
            "OPTIONS": SQLITE_OPTIONS,
            # A file, not memory, so that a worker process started by the integration
            # tests sees the test database.
            "TEST": {"NAME": str(VAR_DIR / "test-faceconsent.sqlite3")},
        }
    }
else:
    DATABASES = {"default": env.db("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
    else:
        # Parameters travel apart from the SQL, and psycopg prepares a statement once a connection
        # has run it 5 times, so PostgreSQL stops parsing and planning the statements every request
        # repeats (the device lookup, the door's confirming query, the audit chain). Behind a pooler
        # that cannot keep prepared statements (PgBouncer in transaction mode before 1.21), set
        # DATABASE_PREPARE_THRESHOLD to an empty value.
        _prepare_threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5")
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True,
            prepare_threshold=int(_prepare_threshold) if _prepare_threshold else None,
        )
# Connections outlive a request (checked before reuse), on SQLite too: opening one per request
# cost a millisecond there (the connection, its PRAGMAs and Django's SQL functions).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache, broker, tasks -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# The cache holds device nonces, failed-login counters and throttles: every process must see
# the same ones, and a restart must not forget them (docs/decisions/0010-shared-cache.md). It is
# best kept in another Redis database than the broker's: clearing it then never touches queued
# tasks.
CACHE_REDIS_URL = env.str("CACHE_REDIS_URL", default=REDIS_URL)
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": "faceconsent",
        }
    }
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # One machine's file: a table in it is shared by every process that can use the database.
    CACHES = {"default": {"BACKEND": "core.cache.SharedDatabaseCache", "LOCATION": "core_cacheentry"}}
else:
    raise ImproperlyConfigured(
        "CACHE_REDIS_URL or REDIS_URL must be set when DATABASE_URL names a server database: "
        "nonces and login counters must be shared by every process."
    )

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded worker of `make run`: messages are files under var/celery.
    _broker_dir = VAR_DIR / "celery" / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "polling_interval": 0.05,
    }
    (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
    if not CELERY_RESULT_BACKEND:
        _results_dir = VAR_DIR / "celery" / "results"
        _results_dir.mkdir(parents=True, exist_ok=True)
        CELERY_RESULT_BACKEND = f"file://{_results_dir}"
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Task bodies are JSON text already; base64 on top only grows a door probe by a third.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"body_encoding": None}
# No broker at all: tasks run in the calling process, after the transaction commits.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "biometrics.enrollment*": {"queue": "enroll"},
    "stores.match*": {"queue": "match"},
    # It searches the indexes, which only match workers hold (decrypted templates never leave them).
    "stores.gallery_check": {"queue": "match"},
    "*.erasure*": {"queue": "erasure"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# No task keeps a result unless its caller waits for it (the door without Redis, which reads and
# forgets it at once); whatever a door stopped waiting for is purged within minutes (portal/celery.py).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = timedelta(minutes=5)
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Left alone, Celery closes every database connection before and after each task, so each door
# match would open a new PostgreSQL connection. Workers keep them the way web requests do instead:
# closed when broken or older than CONN_MAX_AGE (portal/celery.py).
CELERY_DB_REUSE_MAX = 2**31
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Periodic jobs are declared in portal/celery.py, in one place.

# Authentication ------------------------------------------------------------------------------
AUTH_USER_MODEL = "portal.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
# Reset mails one address may be sent in an hour, whoever asks.
PASSWORD_RESET_MAIL_LIMIT = env.int("PASSWORD_RESET_MAIL_LIMIT", default=3)

# How long an app token lives, and how many failed logins an address or client may make in
# the window before it is answered 429.
API_TOKEN_LIFETIME = timedelta(days=env.int("API_TOKEN_LIFETIME_DAYS", default=30))
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# Failed logins to one account from all addresses together: gentle, so that nobody can lock its
# owner out, yet a guess spread over many addresses is still stopped.
LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("LOGIN_ACCOUNT_FAILURE_LIMIT", default=50)
LOGIN_FAILURE_WINDOW = timedelta(minutes=env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=15))
EMAIL_VERIFICATION_LIFETIME = timedelta(hours=env.int("EMAIL_VERIFICATION_LIFETIME_HOURS", default=24))
EMAIL_VERIFICATION_MAX_ATTEMPTS = 5

# Consent ----------------------------------------------------------------------------------------
# A consent lapses after this many days unless the shopper reaffirms it (ISO/IEC TS 27560).
CONSENT_VALIDITY = timedelta(days=env.int("CONSENT_VALIDITY_DAYS", default=365))
# Reaffirming is offered, and accepted, only in this last part of a consent's validity.
CONSENT_REAFFIRM_WINDOW = timedelta(days=env.int("CONSENT_REAFFIRM_WINDOW_DAYS", default=30))
# Below this age a shopper cannot enroll a face, nor consent to any purpose the operator's law treats
# as sensitive for a minor (PIPL 28, 31; consent.minors). FACE_MINIMUM_AGE is its former name.
MINIMUM_AGE = env.int("MINIMUM_AGE", default=env.int("FACE_MINIMUM_AGE", default=14))
# How long an entry pass (the QR code shown instead of a face) stays valid.
ENTRY_PASS_LIFETIME = timedelta(seconds=env.int("ENTRY_PASS_LIFETIME_SECONDS", default=300))

# Faces --------------------------------------------------------------------------------------------
# Template keys: "id:base64key,..." (32-byte keys); the last one, or TEMPLATE_ACTIVE_KEY_ID, seals
# new templates. Never in the database. The embedded default keeps them in var/template_keys.
TEMPLATE_KEYS = env.str("TEMPLATE_KEYS", default="")
TEMPLATE_ACTIVE_KEY_ID = env.str("TEMPLATE_ACTIVE_KEY_ID", default="")
TEMPLATE_KEYS_FILE = VAR_DIR / "template_keys"
if not EMBEDDED and not TEMPLATE_KEYS:
    raise ImproperlyConfigured("TEMPLATE_KEYS must be set when DATABASE_URL is set.")
ENROLL_MAX_PHOTOS = 3
# An enrollment attempt still processing this long after it began lost its worker (the task's hard time
# limit is 150 s) and is failed as `worker_lost` (biometrics.processing.enrollments_lost_fail).
ENROLLMENT_LOST_AFTER = timedelta(minutes=env.int("ENROLLMENT_LOST_AFTER_MINUTES", default=5))
ENROLL_MAX_PHOTO_BYTES = env.int("ENROLL_MAX_PHOTO_BYTES", default=10 * 1024 * 1024)
# Counted as 8-bit RGB pixels: a PNG may also take at most 3 bytes of samples for each (16-bit RGBA takes 8).
ENROLL_MAX_PIXELS = env.int("ENROLL_MAX_PIXELS", default=40_000_000)
# Quality gate, measured on the face kit (docs/decisions/0005-face-engine.md).
ENROLL_MIN_FACE_PX = env.int("ENROLL_MIN_FACE_PX", default=80)
ENROLL_MIN_SHARPNESS = env.float("ENROLL_MIN_SHARPNESS", default=15.0)
ENROLL_MIN_BRIGHTNESS = env.float("ENROLL_MIN_BRIGHTNESS", default=50.0)
# The photos of one enrollment must all be of one person: no two further apart than this.
ENROLL_SAME_PERSON_DISTANCE = env.float("ENROLL_SAME_PERSON_DISTANCE", default=0.6)
# A larger photo is reduced to this many pixels on its longest side as it is decoded; detection
# runs on a copy of at most FACE_DETECT_MAX_SIDE (docs/decisions/0005-face-engine-and-enrollment.md).
FACE_WORK_MAX_SIDE = env.int("FACE_WORK_MAX_SIDE", default=2048)
FACE_DETECT_MAX_SIDE = env.int("FACE_DETECT_MAX_SIDE", default=640)
# Who may have a face processed: consent lives above biometrics, so it is named here.
BIOMETRICS_CONSENT_CHECK = "consent.selectors.shopper_has_face_consent"
# Uploads stay in memory (never a temporary file on disk) and are capped per file.
FILE_UPLOAD_HANDLERS = ["biometrics.uploads.MemoryOnlyUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = ENROLL_MAX_PHOTO_BYTES
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# Store devices and matching --------------------------------------------------------------------------
DEVICE_CLOCK_SKEW_SECONDS = env.int("DEVICE_CLOCK_SKEW_SECONDS", default=300)
# A base64 photo of ENROLL_MAX_PHOTO_BYTES fits.
DEVICE_MAX_BODY_BYTES = env.int("DEVICE_MAX_BODY_BYTES", default=14 * 1024 * 1024)
# Set from measured error rates (docs/decisions/0006-matching.md). The site's ceiling and margin: an operator
# may hold its doors to a lower ceiling or a larger margin (Operator.match_threshold / match_margin), never looser.
MATCH_THRESHOLD = env.float("MATCH_THRESHOLD", default=0.55)
MATCH_MARGIN = env.float("MATCH_MARGIN", default=0.05)
# Galleries of at least this many templates use an inverted-file index scanning MATCH_IVF_NPROBE lists.
MATCH_IVF_THRESHOLD = env.int("MATCH_IVF_THRESHOLD", default=50_000)
MATCH_IVF_NPROBE = env.int("MATCH_IVF_NPROBE", default=48)
# How long the door waits for a match worker before answering 503 match_unavailable.
MATCH_TIMEOUT_SECONDS = env.float("MATCH_TIMEOUT_SECONDS", default=3.0)
# The match shards this worker process serves, by name, separated by commas (decision 0041); empty: all of
# them, one worker holding every operator's gallery.
MATCH_SHARDS = env.str("MATCH_SHARDS", default="")
# How often match workers read new consent and template changes into their indexes.
MATCH_INDEX_POLL_SECONDS = env.float("MATCH_INDEX_POLL_SECONDS", default=0.2)
# The notes telling match workers whom to re-read are deleted by the daily retention job after this many
# hours; a worker that has not looked for half of it rebuilds its indexes from the templates instead.
MATCH_INDEX_NOTES_KEPT_HOURS = 24

# The law a privacy request of a shopper who never consented to any operator answers to (its deadline:
# portal.privacy.selectors.response_days).
PRIVACY_REQUEST_JURISDICTION = env.str("PRIVACY_REQUEST_JURISDICTION", default="CN")
# The gallery check (docs/decisions/0025-gallery-check-at-the-door.md): each operator's gallery measures
# its own false-positive identification rate (FPIR); the door uses the largest threshold of the grid whose
# 95% upper bound meets the target, and stops 1:N (one_to_one_required) where none does while the
# estimated true identification rate stays above the floor. An operator may set a lower target, not a higher.
MATCH_TARGET_FPIR = env.float("MATCH_TARGET_FPIR", default=0.01)
MATCH_TIR_FLOOR = env.float("MATCH_TIR_FLOOR", default=0.90)
# The thresholds the check tries; those above MATCH_THRESHOLD are dropped (it is the ceiling).
MATCH_THRESHOLD_GRID = sorted(
    {
        round(value, 4)
        for value in env.list(
            "MATCH_THRESHOLD_GRID", cast=float, default=[0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55]
        )
        if 0 < value <= MATCH_THRESHOLD
    }
    | {MATCH_THRESHOLD}
)
# At most this many shoppers are searched against the others; larger galleries are sampled (the bound says so).
MATCH_GALLERY_CHECK_SAMPLE = env.int("MATCH_GALLERY_CHECK_SAMPLE", default=10_000)
# A gallery that grew or shrank by more than this share since its last check is checked again.
MATCH_GALLERY_CHECK_CHANGE = env.float("MATCH_GALLERY_CHECK_CHANGE", default=0.10)
# Confirmed pass-plus-face entries of this many past days (at most MATCH_GALLERY_CHECK_SAMPLE, the latest)
# join the check's genuine side.
MATCH_GALLERY_CHECK_ENTRY_DAYS = env.int("MATCH_GALLERY_CHECK_ENTRY_DAYS", default=90)
# /simulator/ lets staff play the demo entrance device; a demo tool, off in deployments.
ENTRANCE_SIMULATOR = env.bool("ENTRANCE_SIMULATOR", default=EMBEDDED or DEBUG)
# Where the simulator sends its signed requests: empty calls the device API in the web process
# itself; an address (http://127.0.0.1:8000) sends them over HTTP, as a device would.
SIMULATOR_DEVICE_API_URL = env.str("SIMULATOR_DEVICE_API_URL", default="")

# Internationalisation --------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
# Where nothing closer applies: a page shows times in the shopper's zone, else the zone of the operator
# it concerns, else this one (core.time_zones.time_zone_for). Stored times are UTC.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True
# One date format and one date-and-time format per language (portal/formats).
FORMAT_MODULE_PATH = ["portal.formats"]

# Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or EMBEDDED
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"

# Mail ------------------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_FILE_PATH", default=""):
    # Each mail becomes a file in this folder: for staging and for tests across processes.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="FaceConsent <no-reply@faceconsent.local>")

# API -------------------------------------------------------------------------------------------
# How many proxies of this deployment stand in front of the web server, each appending to
# X-Forwarded-For. With none (the default) the header is ignored: anyone can write it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.parsers.ContentNegotiation",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "anonymous_account": env.str("THROTTLE_ANONYMOUS_ACCOUNT", default="30/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Throttles take the client's address from core.http.client_address, never from a header
    # the client writes itself.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FaceConsent API",
    "DESCRIPTION": (
        "Accounts, notices, consents, entry passes and face enrollment for shoppers' apps, and the "
        'signed API for store entrance devices. Every error answers {"error": {"code", "message", "fields"}}; '
        "[the list of error codes](/api/errors/) says what each code means."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": "portal.models.Language",
        "ActorTypeEnum": "core.models.ActorType",
        "ConsentEventKindEnum": "consent.models.ConsentEventKind",
        "StoreEventKindEnum": "stores.models.StoreEventKind",
        "FootprintKindEnum": "stores.footprint.selectors.KINDS",
        "PrivacyRequestKindEnum": "portal.models.PrivacyRequestKind",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.postprocess_examples",
    ],
}

# Security ------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Messages live server-side: the admin's one-time device secret must never ride in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_AGE = 60 * 60 * 12
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# portal.headers sends these on everything Django answers (docs/decisions/0012-security-headers.md).
# No inline script or style anywhere: pages load theirs from portal/static/portal/.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
# Denied everywhere; the door simulator alone asks for the camera (permissions_policy_allow). Only
# features Chromium knows: it logs an error for every name it does not.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "browsing-topics",
        "camera",
        "clipboard-read",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "local-fonts",
        "magnetometer",
        "microphone",
        "midi",
        "otp-credentials",
        "payment",
        "publickey-credentials-create",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "window-management",
        "xr-spatial-tracking",
    )
}
LANGUAGE_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not EMBEDDED)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not EMBEDDED)
    LANGUAGE_COOKIE_SECURE = env.bool("LANGUAGE_COOKIE_SECURE", default=not EMBEDDED)
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not EMBEDDED)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if EMBEDDED else 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not EMBEDDED)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not EMBEDDED)
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"hide_task_values": {"()": "core.logging.HideTaskValues"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # A task's result (a door match names the shopper) never reaches a log.
        "celery.app.trace": {"filters": ["hide_task_values"]},
    },
}

CSRF_FAILURE_VIEW = "core.exception_handler.csrf_failure_view"
# The embedded default serves the pages' files from the apps' sources, so `runserver` needs no
# collectstatic first; a deployment serves what collectstatic gathered.
WHITENOISE_USE_FINDERS = DEBUG or EMBEDDED
