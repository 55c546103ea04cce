"""A real store's first day: the store, the team's clock, the first admin and the support
mailbox, in one transaction, from `storedesk setup` or the first-run page.

Each part goes through its own app's service (commerce, triage, accounts, desk), so what the
set-up writes is audited and validated exactly as later edits are.
"""

import re
import zoneinfo
from dataclasses import dataclass, field

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from storedesk.accounts.models import User
from storedesk.accounts.roles import Role
from storedesk.accounts.services import do_create_user
from storedesk.commerce.models import Store
from storedesk.commerce.services import do_create_store
from storedesk.core.currencies import ISO_4217
from storedesk.desk.mail_in import do_save_mailbox
from storedesk.triage.calendar import default_calendar_record
from storedesk.triage.services import do_save_calendar

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,48}$")
TEAM_CALENDAR_NAME = "Team"


def default_hours() -> list[list[str]]:
    return [["08:30", "12:00"], ["13:30", "17:30"]]


@dataclass(frozen=True)
class FirstRunSetup:
    store_name: str
    store_slug: str
    admin_username: str
    admin_email: str
    admin_password: str
    currency: str = "USD"
    store_timezone: str = "America/New_York"
    team_timezone: str = "Asia/Ho_Chi_Minh"
    working_days: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4, 5])
    hours: list[list[str]] = field(default_factory=default_hours)
    holiday_country: str = "VN"
    support_email: str = ""
    order_number_prefix: str = "#"


@dataclass(frozen=True)
class FirstRunResult:
    store: Store
    admin: User
    calendar_name: str
    mailbox: str


def needs_setup() -> bool:
    """True while the database holds no store (a fresh install)."""
    return not Store.objects.exists()


def check_setup(setup: FirstRunSetup) -> None:
    """Every mistake in one place, before anything is written."""
    problems = []
    if not setup.store_name.strip():
        problems.append(_("The store needs a name."))
    if not SLUG.match(setup.store_slug):
        problems.append(_("The slug is lower-case letters, digits and dashes (tiny-pearl)."))
    if setup.currency.upper() not in ISO_4217:
        problems.append(_("%(code)s is not an ISO 4217 currency.") % {"code": setup.currency})
    for zone in (setup.store_timezone, setup.team_timezone):
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.append(_("Unknown time zone: %(zone)s.") % {"zone": zone})
    for email in filter(None, (setup.admin_email, setup.support_email)):
        try:
            validate_email(email)
        except ValidationError:
            problems.append(_("%(email)s is not an email address.") % {"email": email})
    if not setup.admin_username.strip():
        problems.append(_("The first admin needs a user name."))
    elif User.objects.filter(username=setup.admin_username).exists():
        problems.append(_("The user name %(name)s is taken.") % {"name": setup.admin_username})
    try:
        validate_password(
            setup.admin_password, User(username=setup.admin_username, email=setup.admin_email)
        )
    except ValidationError as error:
        problems.extend(error.messages)
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def do_first_run_setup(setup: FirstRunSetup) -> FirstRunResult:
    """Set up an empty desk; refused once a store exists (later changes have their pages)."""
    if not needs_setup():
        raise ValidationError(_("This desk is set up already: it has a store."))
    check_setup(setup)
    store = do_create_store(
        name=setup.store_name.strip(),
        slug=setup.store_slug,
        currency=setup.currency.upper(),
        timezone_name=setup.store_timezone,
        order_number_prefix=setup.order_number_prefix,
        support_email=setup.support_email,
    )
    admin = do_create_user(
        username=setup.admin_username.strip(),
        email=setup.admin_email,
        password=setup.admin_password,
        roles=[Role.ADMIN],
    )
    admin.timezone = setup.team_timezone
    admin.save(update_fields=["timezone"])
    current = default_calendar_record()
    calendar = do_save_calendar(
        current,
        actor=admin,
        name=current.name if current else TEAM_CALENDAR_NAME,
        timezone=setup.team_timezone,
        working_days=setup.working_days,
        hours=setup.hours,
        holiday_country=setup.holiday_country,
        closed_days=[],
    )
    if not calendar.is_default:
        calendar.is_default = True
        calendar.save(update_fields=["is_default"])
    mailbox = ""
    if setup.support_email:
        saved, _created = do_save_mailbox(address=setup.support_email, actor=admin)
        mailbox = saved.address
    return FirstRunResult(store=store, admin=admin, calendar_name=calendar.name, mailbox=mailbox)
