"""Test settings: fast hashing, mail kept in memory, tasks run at once."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "mail", "webhooks"],
    }
}
WHITENOISE_AUTOREFRESH = True
# Test users sign in with force_login or the login form; the tests of two-factor sign-in turn
# the requirement on themselves.
STOREDESK_REQUIRE_2FA = False
# The IP tests name their data; the others score with IP signals unavailable, as before.
GEOIP_BUNDLED = False
TRIAGE_SEND_ACKNOWLEDGEMENT = False  # tests that want it turn it on; others count mail exactly
STORE_POSTAL_ADDRESS = "Test Store, 1 Main Street, Springfield, IL 62701, USA"

# The browser tests' live server answers from several threads at once (server-sent event
# streams among them). An in-memory test database is one SQLite connection shared by every
# thread, and concurrent use of it now and then returns another query's rows; a file gives
# each thread its own connection. `make test` runs the browser tests this way.
if os.environ.get("STOREDESK_TEST_DB_FILE") and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-browser.sqlite3")}
