"""Reference data the signals look things up in: US ZIP centroids, disposable email domains,
phone numbers, and the optional MaxMind GeoIP database.

Each comes from a maintained package or a file the store provides; when a source is missing
the lookup says "unavailable" (None), never a guess.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers
from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS
from django.conf import settings

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    state: str = ""
    country: str = ""


def distance_km(a: Place | None, b: Place | None) -> float | None:
    """Great-circle distance; None when either end is unknown."""
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return round(2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h)), 1)


@cache
def _zip_centroids() -> dict[str, Place]:
    import zipcodes  # loads ~42k ZIPs once (half a second); lookups are then a dict hit

    return {
        row["zip_code"]: Place(float(row["lat"]), float(row["long"]), row["state"], "US")
        for row in zipcodes.list_all()
        if row.get("lat") and row.get("long")
    }


def zip_place(country: str, zip_code: str) -> Place | None:
    """The centroid of a US ZIP (ZIP+4 accepted); None outside the US or for unknown ZIPs."""
    if (country or "").upper() != "US" or not zip_code:
        return None
    return _zip_centroids().get(zip_code.strip()[:5])


def is_disposable_domain(domain: str) -> bool:
    return domain.lower() in _DISPOSABLE_DOMAINS


def phone_facts(number: str, country: str) -> tuple[bool | None, str | None]:
    """(valid, the number's country) for a phone as typed at checkout; (None, None) if absent."""
    if not number:
        return None, None
    try:
        parsed = phonenumbers.parse(number, (country or "US").upper())
    except phonenumbers.NumberParseException:
        return False, None
    return phonenumbers.is_valid_number(parsed), phonenumbers.region_code_for_number(parsed)


@dataclass(frozen=True)
class IpFacts:
    country: str | None
    region: str | None
    place: Place | None
    is_anonymous: bool | None


UNKNOWN_IP = IpFacts(None, None, None, None)


class GeoIp:
    """MaxMind GeoLite2/GeoIP2 City reader when `GEOIP_PATH` names an .mmdb file; otherwise
    every answer is unavailable. Anonymous-IP data comes from the GeoIP2 Anonymous IP database
    (`GEOIP_ANONYMOUS_PATH`) or a plain list of networks (`RISK_ANONYMOUS_NETWORKS_PATH`)."""

    def __init__(self, city_path: str = "", anonymous_path: str = "", networks_path: str = ""):
        self._city = self._open(city_path)
        self._anonymous = self._open(anonymous_path)
        self._networks = self._load_networks(networks_path)

    @staticmethod
    def _open(path: str):
        if not path or not Path(path).is_file():
            return None
        import geoip2.database

        return geoip2.database.Reader(path)

    @staticmethod
    def _load_networks(path: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
        if not path or not Path(path).is_file():
            return None
        networks = []
        for line in Path(path).read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                networks.append(ipaddress.ip_network(line, strict=False))
        return networks

    @property
    def available(self) -> bool:
        return self._city is not None

    def lookup(self, ip: str | None) -> IpFacts:
        if not ip:
            return UNKNOWN_IP
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return UNKNOWN_IP
        country = region = place = None
        if self._city is not None:
            import geoip2.errors

            try:
                city = self._city.city(ip)
            except geoip2.errors.AddressNotFoundError:
                city = None
            if city is not None:
                country = city.country.iso_code
                region = city.subdivisions.most_specific.iso_code
                if city.location.latitude is not None:
                    place = Place(
                        city.location.latitude, city.location.longitude, region or "", country or ""
                    )
        return IpFacts(country, region, place, self._is_anonymous(ip, address))

    def _is_anonymous(self, ip: str, address) -> bool | None:
        if self._anonymous is not None:
            import geoip2.errors

            try:
                return bool(self._anonymous.anonymous_ip(ip).is_anonymous)
            except geoip2.errors.AddressNotFoundError:
                return False
        if self._networks is not None:
            return any(
                address in network
                for network in self._networks
                if network.version == address.version
            )
        return None


@cache
def geoip() -> GeoIp:
    return GeoIp(
        getattr(settings, "GEOIP_PATH", ""),
        getattr(settings, "GEOIP_ANONYMOUS_PATH", ""),
        getattr(settings, "RISK_ANONYMOUS_NETWORKS_PATH", ""),
    )
