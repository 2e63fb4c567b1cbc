"""One settings module, driven by the environment.

Defaults give an embedded installation (SQLite under CARTERA_HOME, default ./var); production
sets DATABASE_URL, CARTERA_SECRET_KEY, CARTERA_ALLOWED_HOSTS and CARTERA_DEBUG=0.
"""

import os
from pathlib import Path

import dj_database_url


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
    "cartera.strategy",
    "cartera.reports",
    "cartera.demo",
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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
    # Lets two test runs share one PostgreSQL server without dropping each other's database.
    DATABASES["default"]["TEST"] = {"NAME": env_str("CARTERA_TEST_DB_NAME", "") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
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

LOGIN_URL = "admin:login"
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
# Imports that write at least this many rows refresh the planner's statistics (ANALYZE).
CARTERA_ANALYZE_AFTER_ROWS = int(env_str("CARTERA_ANALYZE_AFTER_ROWS", "10000"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("CARTERA_LOG_LEVEL", "WARNING")},
}
