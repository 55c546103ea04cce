"""The WSGI application: signed webhook deliveries (/webhooks/shopify/, /webhooks/woocommerce/)
are answered by the connections' lean intake, without the desk's middleware; the rest is the
desk's Django application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.prod")
django_application = get_wsgi_application()

from storedesk.integrations.connections.intake import lean_wsgi  # noqa: E402 - after set-up

application = lean_wsgi(django_application)
