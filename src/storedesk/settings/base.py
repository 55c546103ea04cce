"""Settings for every environment, read from environment variables with safe defaults."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("STOREDESK_VAR_DIR", Path.cwd() / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    # A per-installation key kept in var/, so a fresh checkout runs without any set-up
    # and no key ever lives in the repository.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        from django.utils.crypto import get_random_string

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(get_random_string(64))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "ninja",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "storedesk.core",
    "storedesk.accounts",
    "storedesk.audit",
    "storedesk.commerce",
    "storedesk.desk",
    "storedesk.triage",
    "storedesk.disputes",
    "storedesk.gateways",
    "storedesk.risk",
    "storedesk.resolutions",
    "storedesk.experience",
    "storedesk.integrations.stripe",
    "storedesk.integrations.order_files",
    "storedesk.integrations.connections",
    "storedesk.integrations.shopify",
    "storedesk.integrations.paypal",
    "storedesk.integrations.carriers",
    "storedesk.integrations.woocommerce",
    "storedesk.integrations.mail",
    "storedesk.onboarding",
    "storedesk.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "storedesk.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "storedesk.accounts.two_factor.TwoFactorMiddleware",
    "storedesk.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "storedesk.urls"
WSGI_APPLICATION = "storedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": [
                "storedesk.core.templatetags.shipped_text",
                "storedesk.disputes.templatetags.dispute_text",
                "storedesk.risk.templatetags.risk_text",
                "storedesk.triage.templatetags.triage_text",
            ],
        },
    },
]

# --- Database: SQLite (WAL) embedded by default, PostgreSQL when DATABASE_URL says so.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "storedesk.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA cache_size=-64000;"
                    "PRAGMA temp_store=MEMORY;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set, process memory otherwise.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Several desks (or a staging copy) sharing one Redis keep their keys apart.
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", ""),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background tasks: Django's tasks framework on a database-backed queue.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "mail", "webhooks"],
    }
}
# Work whose task vanished (its worker was killed, a queue was lost) is queued again by the
# sweeps (domain events, Stripe events) once it has waited this long without being done.
TASK_LOST_AFTER = timedelta(seconds=int(os.environ.get("TASK_LOST_AFTER_SECONDS", "120")))
# Tries of one outgoing webhook delivery before it is marked failed (backoff 30 s … 6 h).
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "commerce:home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Password guessing: django-axes counts failed sign-ins per account and per address; 5 within
# 15 minutes of each other lock either for 15 minutes (an admin unlocks sooner: Locked sign-ins
# in the user menu, or `storedesk axes_reset_username NAME` / `axes_reset_ip ADDRESS`). A right
# password is refused while locked. Logins that come through no request (shell, test client's
# `login`) are not counted.
AUTHENTICATION_BACKENDS = [
    "storedesk.accounts.backends.ThrottledSignInBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not clear the count: axes would clear the whole address's count with it, so a
# guesser who owns one account could sign in with it after every 4 guesses at another.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Two-factor sign-in (authenticator app, TOTP): required for the roles that move money and see
# card data when on; anyone may opt in from their preferences. API bearer tokens are unaffected.
STOREDESK_REQUIRE_2FA = os.environ.get("STOREDESK_REQUIRE_2FA", "1") == "1"
OTP_TOTP_ISSUER = "Storedesk"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time. The agent's screens are English or Vietnamese; customers get US English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("vi", _("Vietnamese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
STORE_TIMEZONE = os.environ.get("STORE_TIMEZONE", "America/New_York")
TEAM_TIMEZONE = os.environ.get("TEAM_TIMEZONE", "Asia/Ho_Chi_Minh")
# A customer is shown as VIP when the store marked them so, or when their lifetime value (paid
# orders less refunds, in the store's currency) or their number of orders reaches these.
VIP_LIFETIME_VALUE = os.environ.get("VIP_LIFETIME_VALUE", "1000.00")
VIP_ORDER_COUNT = int(os.environ.get("VIP_ORDER_COUNT", "5"))
# Answer each new email with the time the team will reply by (SLA), in the customer's zone.
TRIAGE_SEND_ACKNOWLEDGEMENT = os.environ.get("TRIAGE_SEND_ACKNOWLEDGEMENT", "1") == "1"
# The zone an SLA's promised time is shown in when the customer's own zone is unknown.
TRIAGE_DEFAULT_CUSTOMER_ZONE = os.environ.get("TRIAGE_DEFAULT_CUSTOMER_ZONE", "America/New_York")
# The deploy's overrides of the priority score's built-in weights ({"name": points}); a version
# leads save on the Priority weights page applies over both.
TRIAGE_PRIORITY_WEIGHTS: dict = {}
RISK_DIGEST_TIME = os.environ.get("RISK_DIGEST_TIME", "08:00")  # team time, daily digest email
# The trained risk score (`storedesk train_risk_model`): an order is labelled good once it is
# MATURITY days old (a chargeback would have come by then); the newest HOLDOUT days of labelled
# orders check the model, HISTORY days are learnt from; training is refused with fewer than
# MIN_FRAUD fraud or MIN_GOOD good orders.
RISK_MODEL_MATURITY_DAYS = int(os.environ.get("RISK_MODEL_MATURITY_DAYS", "90"))
RISK_MODEL_HOLDOUT_DAYS = int(os.environ.get("RISK_MODEL_HOLDOUT_DAYS", "60"))
RISK_MODEL_HISTORY_DAYS = int(os.environ.get("RISK_MODEL_HISTORY_DAYS", "365"))
RISK_MODEL_MIN_FRAUD = int(os.environ.get("RISK_MODEL_MIN_FRAUD", "30"))
RISK_MODEL_MIN_GOOD = int(os.environ.get("RISK_MODEL_MIN_GOOD", "300"))
# The store's own IP data, when it has it; without it the IP signals say "unavailable".
# Without GEOIP_PATH, geoip2fast's bundled data gives IP countries and hosting networks offline.
GEOIP_BUNDLED = os.environ.get("GEOIP_BUNDLED", "1") == "1"
GEOIP_PATH = os.environ.get("GEOIP_PATH", "")  # MaxMind GeoLite2/GeoIP2 City or Country .mmdb
GEOIP_ANONYMOUS_PATH = os.environ.get("GEOIP_ANONYMOUS_PATH", "")  # GeoIP2 Anonymous-IP .mmdb
RISK_ANONYMOUS_NETWORKS_PATH = os.environ.get("RISK_ANONYMOUS_NETWORKS_PATH", "")  # CIDR per line

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]  # the desk's own CSS/JS, beside templates/
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Email. EMAIL_URL such as smtp://user:pass@host:587?tls=1, or console:// (the default).
EMAIL_URL = os.environ.get("EMAIL_URL", "console://")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Storedesk <desk@localhost>")
DESK_URL = os.environ.get("DESK_URL", "http://127.0.0.1:8000")  # links in emails sent by tasks
# Surveys: at most one (CSAT or NPS) per customer address in this many days; links valid as long.
SURVEY_THROTTLE_DAYS = int(os.environ.get("SURVEY_THROTTLE_DAYS", "30"))
SURVEY_LINK_DAYS = int(os.environ.get("SURVEY_LINK_DAYS", "30"))
from storedesk.core.email_url import mailers_from_url  # noqa: E402

MAILERS = mailers_from_url(EMAIL_URL)

# --- Security: Django's middleware and a strict Content Security Policy from day one.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
)

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- The desk. Message-IDs we generate end in this domain (replies thread back by it).
# Replying to an unassigned ticket assigns it to the replying agent (0: leave it unassigned).
DESK_ASSIGN_ON_REPLY = env_bool("DESK_ASSIGN_ON_REPLY", True)
DESK_MESSAGE_ID_DOMAIN = os.environ.get("DESK_MESSAGE_ID_DOMAIN", "storedesk.local")
# Ticket references read `[#SD-1234]`, unlike order numbers (`#TP17397`); tickets numbered
# with an earlier prefix still thread by it (see desk/numbering.py).
TICKET_PREFIX = os.environ.get("TICKET_PREFIX", "SD").strip().upper()
TICKET_LEGACY_PREFIXES = tuple(
    prefix.strip().upper()
    for prefix in os.environ.get("TICKET_LEGACY_PREFIXES", "TP").split(",")
    if prefix.strip()
)
DESK_MAX_ATTACHMENT_BYTES = int(os.environ.get("DESK_MAX_ATTACHMENT_MB", "25")) * 1024 * 1024
DESK_MAX_MAIL_BYTES = int(os.environ.get("DESK_MAX_MAIL_MB", "100")) * 1024 * 1024
DESK_IMAP_POLLERS = int(os.environ.get("DESK_IMAP_POLLERS", "8"))  # mailboxes polled at once
# Inbound mail webhooks of email providers (django-anymail); refused until a secret is set.
ANYMAIL = {
    name: value
    for name, value in {
        "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
        "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
    }.items()
    if value
}
# Stripe's webhook signing secret(s) (whsec_…), comma-separated while rolling; empty: 503.
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")

# PayPal webhooks: "certificate" checks the signature here with the certificate PayPal names
# (fetched only from these prefixes, chain checked against PAYPAL_CERT_TRUST_ROOTS or certifi's
# roots, issued to PAYPAL_CERT_SUBJECT); "postback" asks PayPal's verify-webhook-signature.
PAYPAL_WEBHOOK_VERIFICATION = os.environ.get("PAYPAL_WEBHOOK_VERIFICATION", "certificate")
PAYPAL_CERT_URL_PREFIXES = tuple(
    prefix.strip()
    for prefix in os.environ.get(
        "PAYPAL_CERT_URL_PREFIXES",
        "https://api.paypal.com/,https://api-m.paypal.com/,"
        "https://api.sandbox.paypal.com/,https://api-m.sandbox.paypal.com/",
    ).split(",")
    if prefix.strip()
)
PAYPAL_CERT_TRUST_ROOTS = os.environ.get("PAYPAL_CERT_TRUST_ROOTS", "")
PAYPAL_CERT_SUBJECT = os.environ.get("PAYPAL_CERT_SUBJECT", "messageverificationcerts.paypal.com")
PAYPAL_CERT_CACHE_SECONDS = int(os.environ.get("PAYPAL_CERT_CACHE_SECONDS", "86400"))
# PayPal retries a delivery for up to three days; a transmission older than this is refused.
PAYPAL_WEBHOOK_TOLERANCE_SECONDS = int(os.environ.get("PAYPAL_WEBHOOK_TOLERANCE_SECONDS", "259200"))
# PayPal's REST API base URL, when it is not the environment's own (live for connections, the
# PAYPAL_ENVIRONMENT's for the desk-wide credentials): a local server in tests. PAYPAL_API_BASE
# is its old name, still read when the new one is not set.
PAYPAL_API_BASE_URL = os.environ.get("PAYPAL_API_BASE_URL") or os.environ.get("PAYPAL_API_BASE", "")
PAYPAL_LIVE_URL = "https://api-m.paypal.com"
PAYPAL_SANDBOX_URL = "https://api-m.sandbox.paypal.com"
# Fernet keys that encrypt the connections' secrets (tokens, webhook secrets), comma-separated:
# the first encrypts, all decrypt; after putting a new key first run `storedesk rotate-secrets`.
# Empty: a key derived from SECRET_KEY (generate one with `storedesk generate-secret-key`).
STOREDESK_SECRET_KEYS = env_list("STOREDESK_SECRET_KEYS")
# Shopify Admin API: the version the GraphQL queries are written for, and where it answers
# (the shop's own https://{shop}/admin/api/{version}/graphql.json unless set, for tests).
SHOPIFY_API_VERSION = os.environ.get("SHOPIFY_API_VERSION", "2025-01")
SHOPIFY_API_BASE_URL = os.environ.get("SHOPIFY_API_BASE_URL", "")
# Refunds at the gateways (resolutions). Empty keys: refunds there are refused, clearly.
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
PAYPAL_CLIENT_ID = os.environ.get("PAYPAL_CLIENT_ID", "")
PAYPAL_CLIENT_SECRET = os.environ.get("PAYPAL_CLIENT_SECRET", "")
PAYPAL_ENVIRONMENT = os.environ.get("PAYPAL_ENVIRONMENT", "sandbox")  # or "production"
RESOLUTIONS_GATEWAY_TIMEOUT_SECONDS = float(os.environ.get("RESOLUTIONS_GATEWAY_TIMEOUT", "20"))
# A gateway call still "processing" after this long is retried (its worker may have died).
RESOLUTIONS_STUCK_AFTER_SECONDS = int(os.environ.get("RESOLUTIONS_STUCK_AFTER_SECONDS", "120"))
RESOLUTIONS_MAX_ATTEMPTS = int(os.environ.get("RESOLUTIONS_MAX_ATTEMPTS", "8"))
RESOLUTIONS_APPROVAL_HOURS = int(os.environ.get("RESOLUTIONS_APPROVAL_HOURS", "48"))
# Responding to disputes (with the keys and addresses above): Stripe's file uploads, and how
# long a gateway call may take.
STRIPE_FILES_API_BASE = os.environ.get("STRIPE_FILES_API_BASE", "https://files.stripe.com")
GATEWAY_TIMEOUT_SECONDS = float(os.environ.get("GATEWAY_TIMEOUT_SECONDS", "20"))
# Early fraud warnings: "refund now" when the order is not shipped and at most this much.
DISPUTE_EFW_AUTO_REFUND_UNDER = os.environ.get("DISPUTE_EFW_AUTO_REFUND_UNDER", "100.00")
# Deadline reminders, in business hours before the evidence is due.
DISPUTE_REMINDER_HOURS = [int(h) for h in env_list("DISPUTE_REMINDER_HOURS") or ["48", "8"]]
# Tries per Shopify call a resolution makes (reship, coupon, refund…); its own retries follow.
SHOPIFY_RESOLUTION_ATTEMPTS = int(os.environ.get("SHOPIFY_RESOLUTION_ATTEMPTS", "3"))
# How long a coupon given as a resolution stays valid.
RESOLUTIONS_COUPON_DAYS = int(os.environ.get("RESOLUTIONS_COUPON_DAYS", "90"))
# The store's sites that may load the chat widget and frame the contact form, e.g.
# "https://shop.example,https://www.shop.example". Empty: only the desk's own /help/ pages.
DESK_WIDGET_ORIGINS = env_list("DESK_WIDGET_ORIGINS")
# An agent counts as online for chat this long after their last page view.
DESK_CHAT_PRESENCE_MINUTES = int(os.environ.get("DESK_CHAT_PRESENCE_MINUTES", "5"))
# Live ticket pages: a server-sent event stream lasts this long before the browser reconnects,
# and each web process holds at most this many at once (each holds a thread).
DESK_LIVE_STREAM_SECONDS = float(os.environ.get("DESK_LIVE_STREAM_SECONDS", "25"))
DESK_LIVE_MAX_STREAMS = int(os.environ.get("DESK_LIVE_MAX_STREAMS", "4"))

# --- Self-service order tracking (/track/) and proactive delay notices.
# How long after an order was placed its signed tracking link (e-mails, replies) keeps working.
TRACKING_LINK_MAX_AGE_DAYS = int(os.environ.get("TRACKING_LINK_MAX_AGE_DAYS", "180"))
# Lookups by order number and e-mail: per client address a minute, per order number an hour.
TRACKING_LOOKUPS_PER_IP_MINUTE = int(os.environ.get("TRACKING_LOOKUPS_PER_IP_MINUTE", "30"))
TRACKING_LOOKUPS_PER_ORDER_HOUR = int(os.environ.get("TRACKING_LOOKUPS_PER_ORDER_HOUR", "10"))
# A stuck parcel or a carrier exception tells the customer before they ask (off: only recorded).
TRACKING_PROACTIVE_NOTICES = env_bool("TRACKING_PROACTIVE_NOTICES", default=True)
# A notified customer who opens no where-is-my-order ticket within these days counts as prevented.
TRACKING_WISMO_WINDOW_DAYS = int(os.environ.get("TRACKING_WISMO_WINDOW_DAYS", "7"))
# Outreach campaigns (experience): messages per second handed to the mail backend, messages
# per send task before it queues the next, how long a claimed message may wait before a resume
# counts it as interrupted (never sent again), and the store's postal address every campaign
# message carries (CAN-SPAM).
OUTREACH_SEND_RATE = float(os.environ.get("OUTREACH_SEND_RATE", "10"))
OUTREACH_BATCH_SIZE = int(os.environ.get("OUTREACH_BATCH_SIZE", "500"))
OUTREACH_CLAIM_LEASE_SECONDS = int(os.environ.get("OUTREACH_CLAIM_LEASE_SECONDS", "300"))
# Empty: campaigns are refused until it is set (the demo store uses a made-up one).
STORE_POSTAL_ADDRESS = os.environ.get("STORE_POSTAL_ADDRESS", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "filters": {"request_id": {"()": "storedesk.core.middleware.RequestIdLogFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
