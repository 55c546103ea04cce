"""Who hears of a broken connection: every active administrator, by email, once."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from storedesk.core.events import handles

logger = logging.getLogger(__name__)


@handles("connection_broken")
def tell_admins_connection_broke(event) -> None:
    from storedesk.accounts.models import User
    from storedesk.accounts.roles import Role

    payload = event.payload
    recipients = sorted(
        set(
            User.objects.filter(is_active=True, groups__name=Role.ADMIN.value)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        | set(
            User.objects.filter(is_active=True, is_superuser=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not recipients:
        logger.error("Connection %s broke and no admin has an email", payload.get("connection_id"))
        return
    subject = _("Storedesk: the %(system)s connection stopped working") % {
        "system": payload.get("system", "")
    }
    body = _(
        "The %(system)s connection of store %(store)s stopped working: %(reason)s\n\n"
        "Nothing more is fetched from it until it is connected again (Settings, Connections)."
    ) % {
        "system": payload.get("system", ""),
        "store": payload.get("store_id", ""),
        "reason": payload.get("reason", ""),
    }
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
