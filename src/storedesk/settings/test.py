"""Test settings: fast hashing, mail kept in memory, tasks run at once."""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
TASKS = {
    "default": {
        "BACKEND": "django.tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "mail", "webhooks"],
    }
}
WHITENOISE_AUTOREFRESH = True
TRIAGE_SEND_ACKNOWLEDGEMENT = False  # tests that want it turn it on; others count mail exactly
