"""Turn EMAIL_URL (smtp://user:pass@host:port?tls=1) into Django's MAILERS setting.

`file:///var/mail/desk` writes each sent mail into that directory instead (a staging desk, or
several processes whose mail a test reads back).
"""

from urllib.parse import parse_qs, unquote, urlsplit

BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
}


def mailers_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in BACKENDS:
        raise ValueError(
            f"EMAIL_URL scheme must be one of {sorted(BACKENDS)}, got {parts.scheme!r}"
        )
    options = {}
    if parts.scheme.startswith("smtp"):
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        options = {
            "host": parts.hostname or "localhost",
            "port": parts.port or (465 if parts.scheme == "smtps" else 25),
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_ssl": parts.scheme == "smtps",
            "use_tls": query.get("tls", "0").lower() in {"1", "true", "yes"},
            "timeout": int(query.get("timeout", "20")),
        }
    if parts.scheme == "file":
        if not parts.path:
            raise ValueError("EMAIL_URL file:// needs a directory, e.g. file:///var/mail/desk")
        options = {"file_path": unquote(parts.path)}
    return {"default": {"BACKEND": BACKENDS[parts.scheme], "OPTIONS": options}}
