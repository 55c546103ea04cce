from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from storedesk.core.middleware import UserPreferencesMiddleware


def test_the_users_zone_is_active_during_the_request_and_never_leaks_to_the_next(make_user):
    seen = []
    middleware = UserPreferencesMiddleware(
        lambda request: seen.append(timezone.get_current_timezone_name()) or HttpResponse()
    )
    request = RequestFactory().get("/")
    request.user = make_user(timezone="America/Chicago")

    middleware(request)

    assert seen == ["America/Chicago"]
    assert timezone.get_current_timezone_name() == "UTC"
