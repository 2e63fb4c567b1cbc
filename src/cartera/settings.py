"""One settings module, driven by the environment.

Defaults give an embedded installation (SQLite under CARTERA_HOME, default ./var); production
sets DATABASE_URL, CARTERA_SECRET_KEY, CARTERA_ALLOWED_HOSTS and CARTERA_DEBUG=0.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_int_list(name: str, default: str) -> list[int]:
    return [int(item) for item in env_list(name, default)]


BASE_DIR = Path(__file__).resolve().parent
CARTERA_HOME = Path(env_str("CARTERA_HOME", "var")).resolve()

DEBUG = env_bool("CARTERA_DEBUG", False)
# The embedded/demo installation runs without a configured key; a production deployment must
# set one (docs/deployment.md), and `cartera serve` refuses to start with the fallback.
INSECURE_DEV_KEY = "cartera-insecure-development-key-do-not-use-in-production"
SECRET_KEY = env_str("CARTERA_SECRET_KEY", INSECURE_DEV_KEY)
ALLOWED_HOSTS = env_list("CARTERA_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CARTERA_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "cartera.core",
    "cartera.portfolio",
    "cartera.negotiation",
    "cartera.messaging",
    "cartera.cash",
    "cartera.strategy",
    "cartera.reports",
    "cartera.workdesk",
    "cartera.demo",
    "huey.contrib.djhuey",
    "anymail",
    "django_htmx",
    "template_partials",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "cartera.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cartera.workdesk.middleware.IdleTimeoutMiddleware",
    # After the idle timeout: a logged-in user's pages in the language they saved.
    "cartera.workdesk.middleware.UserLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cartera.urls"
WSGI_APPLICATION = "cartera.wsgi.application"

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
                "django.template.context_processors.i18n",
                "cartera.workdesk.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{CARTERA_HOME / 'cartera.sqlite3'}"),
        conn_max_age=int(env_str("CARTERA_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while the importer writes; IMMEDIATE takes the write lock at the
    # start of a transaction, so two writers queue instead of failing half-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["TEST"] = {"NAME": env_str("CARTERA_TEST_SQLITE", "") or None}
else:
    # Reports aggregate millions of ledger rows: the server's JIT spends seconds compiling those
    # plans before running them, and the default 4 MB of work memory spills their sums to disk.
    server_options = "-c jit=off -c work_mem=" + env_str("CARTERA_PG_WORK_MEM", "32MB")
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} {server_options}".strip()
    # Lets two test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": env_str("CARTERA_TEST_DB_NAME", "") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGES = [("es", "Español"), ("en", "English")]
# The installation's language: what commands print and what a page shows a visitor with no
# preference of their own (each user's choice is saved with the user).
LANGUAGE_CODE = env_str("CARTERA_LANGUAGE", "es").strip().lower()
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"CARTERA_LANGUAGE must be one of es, en; not {LANGUAGE_CODE!r}")
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("CARTERA_TIME_ZONE", "America/Bogota")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = CARTERA_HOME / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "workdesk:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "workdesk:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool(
    "CARTERA_SECURE_COOKIES", not DEBUG and SECRET_KEY != INSECURE_DEV_KEY
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = int(env_str("CARTERA_SESSION_SECONDS", str(8 * 3600)))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Aging buckets: upper bounds in days past due; `current` (dpd <= 0) comes first and an open
# last bucket after the highest bound.
CARTERA_AGING_BUCKETS = env_int_list("CARTERA_AGING_BUCKETS", "30,60,90,180,360")
# Rows handled per database round trip by the importers.
CARTERA_IMPORT_CHUNK = int(env_str("CARTERA_IMPORT_CHUNK", "5000"))
# PostgreSQL: connections that write a documents import's new rows beside the import itself.
CARTERA_IMPORT_WRITERS = max(1, int(env_str("CARTERA_IMPORT_WRITERS", "3")))
# Imports that write at least this many rows refresh the planner's statistics (ANALYZE).
CARTERA_ANALYZE_AFTER_ROWS = int(env_str("CARTERA_ANALYZE_AFTER_ROWS", "10000"))

# -- Reports: snapshots and the cash forecast (docs/reports.md) --------------------------------
# Each daily run also rewrites the snapshots of this many days before its own, so that payments
# loaded a few days late land in their day.
CARTERA_SNAPSHOT_RESTATE_DAYS = int(env_str("CARTERA_SNAPSHOT_RESTATE_DAYS", "3"))
# The payments of this many days before the forecast's date give each debtor's days late.
CARTERA_FORECAST_HISTORY_DAYS = int(env_str("CARTERA_FORECAST_HISTORY_DAYS", "365"))

# -- Cash application: bank statements and matching (docs/cash-application.md) ----------------
# A statement line whose best proposal reaches this confidence (in percent) is recorded and
# applied automatically; below it the line waits in the unmatched queue with its proposals.
CARTERA_CASH_AUTO_CONFIDENCE = int(env_str("CARTERA_CASH_AUTO_CONFIDENCE", "90"))
# A payment short of what is owed by at most this percentage still matches the amount (the
# bank took its fee on the way); the shortfall stays open on the document.
CARTERA_CASH_FEE_TOLERANCE_PERCENT = env_str("CARTERA_CASH_FEE_TOLERANCE_PERCENT", "1")
# Sums of up to this many open documents of one debtor (among its oldest
# CARTERA_CASH_SUBSET_POOL) are tried against a payment's amount.
CARTERA_CASH_SUBSET_MAX = int(env_str("CARTERA_CASH_SUBSET_MAX", "3"))
CARTERA_CASH_SUBSET_POOL = int(env_str("CARTERA_CASH_SUBSET_POOL", "12"))
# Extra CSV/XLSX column profiles (a JSON list), tried before the ready-made ones.
CARTERA_CASH_PROFILES_FILE = env_str("CARTERA_CASH_PROFILES_FILE", "")

# -- Workdesk (the collectors' and supervisors' web app) ---------------------------------------
# Login throttling (django-axes): after CARTERA_LOGIN_FAILURES failed attempts for one user name
# from one address, that pair is locked out for CARTERA_LOGIN_LOCK_MINUTES; a success resets it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env_str("CARTERA_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = float(env_str("CARTERA_LOGIN_LOCK_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "workdesk/locked.html"
AXES_VERBOSE = False
# A session left alone this long ends (the cookie's own age, above, caps a whole working day).
CARTERA_SESSION_IDLE_SECONDS = int(env_str("CARTERA_SESSION_IDLE_SECONDS", str(30 * 60)))
# Rows per page of the worklist and the supervisor's lists.
CARTERA_WORKLIST_PAGE_SIZE = int(env_str("CARTERA_WORKLIST_PAGE_SIZE", "25"))

# -- Messaging: templates, letters and the opt-out link (issue 4) ------------------------------
# Where debtors reach this installation: links in messages (the opt-out page) start with it.
CARTERA_PUBLIC_URL = env_str("CARTERA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Letters rendered into one temporary PDF before it is appended to the day's printable file:
# memory grows with this number, not with the size of the batch.
CARTERA_LETTER_CHUNK = int(env_str("CARTERA_LETTER_CHUNK", "50"))

# -- Messaging: the outbox, the worker and the channel backends (docs/outbox-and-worker.md) ----
# A worker claims up to CARTERA_OUTBOX_BATCH due messages at a time and holds each for
# CARTERA_OUTBOX_LEASE_SECONDS (renewed while it works); a message whose lease runs out while
# sending is `unknown` (or queued again where the channel takes the idempotency key).
CARTERA_OUTBOX_BATCH = int(env_str("CARTERA_OUTBOX_BATCH", "200"))
CARTERA_OUTBOX_LEASE_SECONDS = int(env_str("CARTERA_OUTBOX_LEASE_SECONDS", "300"))
# Transient failures are retried after BASE, 2 x BASE, 4 x BASE… seconds (at most CAP), and the
# message fails after MAX_ATTEMPTS hand-overs to its backend.
CARTERA_OUTBOX_MAX_ATTEMPTS = int(env_str("CARTERA_OUTBOX_MAX_ATTEMPTS", "5"))
CARTERA_OUTBOX_BACKOFF_SECONDS = int(env_str("CARTERA_OUTBOX_BACKOFF_SECONDS", "60"))
CARTERA_OUTBOX_BACKOFF_CAP_SECONDS = int(env_str("CARTERA_OUTBOX_BACKOFF_CAP_SECONDS", "3600"))
# Messages handed to their backends per database commit. A worker that dies while sending
# leaves at most this many messages `unknown`; 1 is the safest, more is faster where commits
# wait for the disk (PostgreSQL with synchronous_commit).
CARTERA_OUTBOX_HANDOVER_GROUP = int(env_str("CARTERA_OUTBOX_HANDOVER_GROUP", "10"))
# The long-running worker looks for due messages this often when the outbox is empty.
CARTERA_OUTBOX_POLL_SECONDS = float(env_str("CARTERA_OUTBOX_POLL_SECONDS", "5"))
# How many outbox drains run at once across all `cartera worker` processes (each takes one
# Huey worker thread), and how many Huey worker threads each process has.
CARTERA_WORKER_DRAINS = int(env_str("CARTERA_WORKER_DRAINS", "1"))
CARTERA_WORKER_THREADS = int(env_str("CARTERA_WORKER_THREADS", "2"))
# The file backend (demo) writes every message under this folder, one file per message.
CARTERA_OUTBOX_DIR = Path(env_str("CARTERA_OUTBOX_DIR", str(CARTERA_HOME / "outbox"))).resolve()
# `cartera demo` sets CARTERA_DEMO=1 for itself (and its worker) before the settings load: email,
# SMS and WhatsApp then default to the file backends, under CARTERA_OUTBOX_DIR, instead of SMTP
# and HTTP. A backend chosen in the environment still wins; a deployment never sets it.
CARTERA_DEMO = env_bool("CARTERA_DEMO", False)
_DEFAULT_EMAIL_BACKEND = "file" if CARTERA_DEMO else "smtp"
_DEFAULT_CHANNEL_BACKEND = "file" if CARTERA_DEMO else "http"

# Email goes through Django's email backends. CARTERA_EMAIL_BACKEND: "smtp" (default, the
# EMAIL_* settings below), "file" (one .eml file per message under CARTERA_OUTBOX_DIR/email),
# "console", "memory" (tests), or the dotted path of any Django email backend, e.g.
# "anymail.backends.mailgun.EmailBackend" with its ANYMAIL_* variables.
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "cartera.messaging.backends.files.EmailFileBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "memory": "django.core.mail.backends.locmem.EmailBackend",
}
CARTERA_EMAIL_BACKEND = env_str("CARTERA_EMAIL_BACKEND", _DEFAULT_EMAIL_BACKEND)
EMAIL_BACKEND = _EMAIL_BACKENDS.get(CARTERA_EMAIL_BACKEND, CARTERA_EMAIL_BACKEND)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_str("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(env_str("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "cartera@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# django-anymail: every ANYMAIL_<NAME> variable becomes ANYMAIL["<NAME>"] (e.g.
# ANYMAIL_MAILGUN_API_KEY, ANYMAIL_MAILGUN_SENDER_DOMAIN, ANYMAIL_WEBHOOK_SECRET).
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_") and value
}


def _http_channel(prefix: str) -> dict[str, object]:
    """The generic HTTP provider of one channel (SMS or WhatsApp), from CARTERA_<prefix>_HTTP_*.

    Field names may be dotted ("message.text") to build or read nested JSON; an empty field
    name leaves that field out.
    """

    def get(name: str, default: str = "") -> str:
        return env_str(f"CARTERA_{prefix}_HTTP_{name}", default)

    return {
        "url": get("URL"),
        "auth_header": get("AUTH_HEADER", "Authorization"),
        "auth_value": get("AUTH_VALUE"),
        "timeout": float(get("TIMEOUT", "10")),
        "field_to": get("FIELD_TO", "to"),
        "field_from": get("FIELD_FROM", "from"),
        "field_text": get("FIELD_TEXT", "text"),
        "field_template": get("FIELD_TEMPLATE", "template"),
        "field_params": get("FIELD_PARAMS", "params"),
        "field_language": get("FIELD_LANGUAGE", "language"),
        "field_key": get("FIELD_KEY", "idempotency_key"),
        "field_callback": get("FIELD_CALLBACK", "callback_url"),
        "extra": get("EXTRA", "{}"),
        "response_id": get("RESPONSE_ID", "id"),
        # Set only when the provider documents that a repeated key is not delivered twice.
        "accepts_idempotency_key": env_bool(f"CARTERA_{prefix}_HTTP_ACCEPTS_KEY", False),
        "callback_secret": get("CALLBACK_SECRET"),
        "callback_signature_header": get("CALLBACK_SIGNATURE_HEADER", "X-Signature"),
        "callback_id_field": get("CALLBACK_ID_FIELD", "id"),
        "callback_key_field": get("CALLBACK_KEY_FIELD", "idempotency_key"),
        "callback_status_field": get("CALLBACK_STATUS_FIELD", "status"),
        "callback_time_field": get("CALLBACK_TIME_FIELD", "timestamp"),
        "callback_error_field": get("CALLBACK_ERROR_FIELD", "error"),
        "callback_delivered": env_list(f"CARTERA_{prefix}_HTTP_CALLBACK_DELIVERED", "delivered"),
        "callback_failed": env_list(
            f"CARTERA_{prefix}_HTTP_CALLBACK_FAILED", "failed,undelivered,rejected,expired"
        ),
    }


# SMS and WhatsApp: "http" (the generic provider above), "file" (demo: one readable file per
# message under CARTERA_OUTBOX_DIR/<channel>) or the dotted path of a ChannelBackend class.
CARTERA_SMS_BACKEND = env_str("CARTERA_SMS_BACKEND", _DEFAULT_CHANNEL_BACKEND)
CARTERA_WHATSAPP_BACKEND = env_str("CARTERA_WHATSAPP_BACKEND", _DEFAULT_CHANNEL_BACKEND)
CARTERA_SMS_HTTP = _http_channel("SMS")
CARTERA_WHATSAPP_HTTP = _http_channel("WHATSAPP")

# Background work (Huey): SqliteHuey in its own file under CARTERA_HOME embedded, RedisHuey
# across machines when CARTERA_REDIS_URL is set. `immediate` is never implied by DEBUG.
CARTERA_REDIS_URL = env_str("CARTERA_REDIS_URL")
HUEY: dict[str, object] = {
    "name": env_str("CARTERA_HUEY_NAME", "cartera"),
    "immediate": env_bool("CARTERA_HUEY_IMMEDIATE", False),
    "utc": True,
    "consumer": {"workers": CARTERA_WORKER_THREADS, "worker_type": "thread"},
}
if CARTERA_REDIS_URL:
    HUEY.update({"huey_class": "huey.RedisHuey", "url": CARTERA_REDIS_URL})
else:
    HUEY.update(
        {
            "huey_class": "cartera.messaging.huey_storage.LazySqliteHuey",
            "filename": str(CARTERA_HOME / env_str("CARTERA_HUEY_FILE", "huey.sqlite3")),
        }
    )

# Promises, payment agreements, disputes, late interest and fees (cartera.negotiation). A
# creditor's own terms are set in the admin ("Negotiation terms"); these are the defaults of a
# creditor without them. Late interest and fees are off unless a creditor's terms turn them on.
CARTERA_PROMISE_GRACE_DAYS = int(env_str("CARTERA_PROMISE_GRACE_DAYS", "2"))
CARTERA_PROMISE_BREAK_LIMIT = int(env_str("CARTERA_PROMISE_BREAK_LIMIT", "3"))
CARTERA_PROMISE_BREAK_WINDOW_DAYS = int(env_str("CARTERA_PROMISE_BREAK_WINDOW_DAYS", "90"))
CARTERA_AGREEMENT_BREAK_DAYS = int(env_str("CARTERA_AGREEMENT_BREAK_DAYS", "30"))
CARTERA_INSTALLMENT_REMINDER_DAYS = int(env_str("CARTERA_INSTALLMENT_REMINDER_DAYS", "3"))
CARTERA_DISPUTE_SLA_DAYS = int(env_str("CARTERA_DISPUTE_SLA_DAYS", "15"))
# Dispute attachments live under CARTERA_HOME/attachments, agreement PDFs under
# CARTERA_HOME/agreements.
CARTERA_ATTACHMENT_MAX_BYTES = int(env_str("CARTERA_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
CARTERA_ATTACHMENT_EXTENSIONS = env_list(
    "CARTERA_ATTACHMENT_EXTENSIONS", ".pdf,.png,.jpg,.jpeg,.gif,.txt,.csv,.xlsx,.docx,.eml,.zip"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("CARTERA_LOG_LEVEL", "WARNING")},
}
