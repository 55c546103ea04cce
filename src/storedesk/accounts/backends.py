"""The sign-in throttle: django-axes' check in front of the ordinary password backend."""

from axes.backends import AxesStandaloneBackend


class ThrottledSignInBackend(AxesStandaloneBackend):
    """Refuses sign-ins of a locked-out account or address. A login that comes through no web
    request (the shell, a test client's `login`) has no address to count and passes through to
    the password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
