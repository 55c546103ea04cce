import pytest

from storedesk.core.email_url import mailers_from_url


def test_smtp_url_becomes_mailer_options():
    mailers = mailers_from_url("smtp://desk%40shop.example:s3cr%2Ft@mail.example:587?tls=1")
    assert mailers == {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": "mail.example",
                "port": 587,
                "username": "desk@shop.example",
                "password": "s3cr/t",
                "use_ssl": False,
                "use_tls": True,
                "timeout": 20,
            },
        }
    }


def test_console_is_the_safe_default_and_unknown_schemes_are_refused():
    assert mailers_from_url("console://")["default"]["BACKEND"].endswith("console.EmailBackend")
    with pytest.raises(ValueError, match="EMAIL_URL scheme"):
        mailers_from_url("ftp://mail.example")


def test_a_file_url_writes_mail_into_that_directory():
    mailers = mailers_from_url("file:///var/mail/desk")
    assert mailers == {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": "/var/mail/desk"},
        }
    }
    with pytest.raises(ValueError, match="needs a directory"):
        mailers_from_url("file://")
