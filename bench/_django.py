"""Django set-up shared by the benchmarks: production settings on a var dir of their own."""

import os


def setup_django(var_dir: str) -> None:
    """Settings from the environment (production by default), the database migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
    os.environ.setdefault("STOREDESK_VAR_DIR", var_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
