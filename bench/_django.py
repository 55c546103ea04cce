"""Django set-up shared by the benchmarks: production settings on a var dir of their own."""

import json
import os
import subprocess
import sys
import tempfile


def setup_django(var_dir: str) -> None:
    """Settings from the environment (production by default), the database migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
    os.environ.setdefault("STOREDESK_VAR_DIR", var_dir)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure_in_child(script: str, arguments: list[str], *, prefix: str) -> dict:
    """Run `script --child ARGUMENTS` in a process of its own on a fresh SQLite var dir (one
    Django and one database per size measured) and return the JSON it printed last."""
    with tempfile.TemporaryDirectory(prefix=prefix) as var_dir:
        env = {**os.environ, "STOREDESK_VAR_DIR": var_dir}
        env.pop("DATABASE_URL", None)
        child = subprocess.run(  # noqa: S603 - a benchmark script, with our own arguments
            [sys.executable, script, "--child", *arguments],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(child.stdout.strip().splitlines()[-1])
