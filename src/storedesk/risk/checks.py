"""System checks: a GeoIP or network-list file that is named but cannot be used is reported
when the site starts (`manage.py check`), instead of IP signals being quietly unavailable."""

from django.conf import settings
from django.core.checks import Warning, register

from storedesk.risk.reference import GeoIp


@register()
def check_geoip_files(app_configs=None, **kwargs) -> list[Warning]:
    reader = GeoIp(
        settings.GEOIP_PATH,
        settings.GEOIP_ANONYMOUS_PATH,
        settings.RISK_ANONYMOUS_NETWORKS_PATH,
    )
    return [
        Warning(
            f"GeoIP unavailable: {problem}.",
            hint="IP country, region, distance and anonymity signals are unavailable (never "
            "guessed) until the file is fixed.",
            id="risk.W001",
        )
        for problem in reader.problems
    ]
