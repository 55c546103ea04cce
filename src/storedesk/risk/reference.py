"""Reference data the signals look things up in: US ZIP centroids, disposable email domains,
phone numbers, and the optional MaxMind GeoIP database.

Each comes from a maintained package or a file the store provides; when a source is missing
the lookup says "unavailable" (None), never a guess.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import phonenumbers
from disposable_email_domains import blocklist as _DISPOSABLE_DOMAINS
from django.conf import settings

EARTH_RADIUS_KM = 6371.0088

logger = logging.getLogger(__name__)


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
    region = (country or "US").upper()
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return False, None
    # Most numbers belong to the billing country: one region check instead of a scan of every
    # region sharing the calling code (+1 has 25), which `is_valid_number` does twice over.
    if phonenumbers.is_valid_number_for_region(parsed, region):
        return True, region
    region = phonenumbers.region_code_for_number(parsed)
    return bool(region) and phonenumbers.is_valid_number_for_region(parsed, region), region


@dataclass(frozen=True)
class IpFacts:
    country: str | None
    region: str | None
    place: Place | None
    is_anonymous: bool | None


UNKNOWN_IP = IpFacts(None, None, None, None)


class GeoIp:
    """MaxMind GeoLite2/GeoIP2 City (or Country) reader when `GEOIP_PATH` names an .mmdb file;
    otherwise every answer is unavailable. Anonymous-IP data comes from the GeoIP2 Anonymous IP
    database (`GEOIP_ANONYMOUS_PATH`) or a plain list of networks (`RISK_ANONYMOUS_NETWORKS_PATH`).

    A file that is named but missing, unreadable or of the wrong kind never stops scoring: its
    answers are unavailable and `problems` says why (shown by `manage.py check` and the digest).
    """

    def __init__(
        self,
        city_path: str = "",
        anonymous_path: str = "",
        networks_path: str = "",
        *,
        bundled: bool = False,
    ):
        self.problems: list[str] = []
        self._city = self._open("GEOIP_PATH", city_path, ("City", "Country"))
        # Without a MaxMind file, geoip2fast's bundled country and network (ASN) data answers.
        self._bundled = bundled_geoip() if bundled and self._city is None else None
        self._by_city = self._city is not None and "City" in self._city.metadata().database_type
        self._anonymous = self._open("GEOIP_ANONYMOUS_PATH", anonymous_path, ("Anonymous-IP",))
        self._networks = self._load_networks(networks_path)
        for problem in self.problems:
            logger.warning("GeoIP unavailable: %s", problem)

    def _open(self, setting: str, path: str, kinds: tuple[str, ...]):
        if not path:
            return None
        if not Path(path).is_file():
            self.problems.append(f"{setting} names a file that does not exist")
            return None
        import geoip2.database

        try:
            reader = geoip2.database.Reader(path)
        except (OSError, ValueError, RuntimeError) as error:  # InvalidDatabaseError: RuntimeError
            # The reader's own message names the file's path: logged, not shown in pages or mail.
            logger.warning("GeoIP file of %s cannot be opened: %s", setting, error)
            self.problems.append(f"{setting} is not a readable MaxMind database")
            return None
        database_type = reader.metadata().database_type
        if not any(kind in database_type for kind in kinds):
            reader.close()
            self.problems.append(
                f"{setting} is a {database_type} database; expected {' or '.join(kinds)}"
            )
            return None
        return reader

    def _load_networks(
        self, path: str
    ) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
        if not path:
            return None
        try:
            lines = Path(path).read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            self.problems.append("RISK_ANONYMOUS_NETWORKS_PATH names a file that cannot be read")
            return None
        networks, wrong = [], []
        for number, line in enumerate(lines, start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                networks.append(ipaddress.ip_network(line, strict=False))
            except ValueError:
                wrong.append(str(number))
        if wrong:  # the good lines still count; the wrong ones are named, not guessed at
            self.problems.append(
                "RISK_ANONYMOUS_NETWORKS_PATH: line(s) "
                + ", ".join(wrong[:10])
                + " are not IP networks and were skipped"
            )
        return networks

    @property
    def available(self) -> bool:
        return self._city is not None or self._bundled is not None

    @property
    def source(self) -> str:
        """Which data answers IP questions, as the risk panel names it ("" for none)."""
        if self._city is not None:
            return MAXMIND_SOURCE
        return BUNDLED_SOURCE if self._bundled is not None else ""

    @property
    def unavailable_reason(self) -> str:
        """Why IP countries are unavailable ("" when they are available)."""
        if self.available:
            return ""
        city_problems = [problem for problem in self.problems if problem.startswith("GEOIP_PATH")]
        return city_problems[0] if city_problems else "no GeoIP database is configured (GEOIP_PATH)"

    def lookup(self, ip: str | None) -> IpFacts:
        if not ip or (
            self._city is None
            and self._bundled is None
            and self._anonymous is None
            and self._networks is None
        ):
            return UNKNOWN_IP
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return UNKNOWN_IP
        country = region = place = None
        if self._city is not None:
            import geoip2.errors

            try:
                found = self._city.city(ip) if self._by_city else self._city.country(ip)
            except (geoip2.errors.AddressNotFoundError, ValueError):  # ValueError: IPv6 in IPv4
                found = None
            if found is not None:
                country = found.country.iso_code
                if self._by_city:
                    region = found.subdivisions.most_specific.iso_code
                    if found.location.latitude is not None:
                        place = Place(
                            found.location.latitude,
                            found.location.longitude,
                            region or "",
                            country or "",
                        )
        elif self._bundled is not None:
            return self._bundled_facts(ip, address)
        return IpFacts(country, region, place, self._is_anonymous(ip, address))

    def _bundled_facts(self, ip: str, address) -> IpFacts:
        """Country and hosting network from geoip2fast: no region or place (no coordinates)."""
        found = self._bundled.lookup(ip)
        code = found.country_code or ""
        country = code if len(code) == 2 and code.isalpha() else None
        anonymous = self._is_anonymous(ip, address)
        if anonymous is None and not found.is_private and found.asn_name:
            anonymous = found.asn_name.casefold() in hosting_network_names()
        return IpFacts(country, None, None, anonymous)

    def _is_anonymous(self, ip: str, address) -> bool | None:
        if self._anonymous is not None:
            import geoip2.errors

            try:
                return bool(self._anonymous.anonymous_ip(ip).is_anonymous)
            except geoip2.errors.AddressNotFoundError:
                return False
            except ValueError:  # an IPv6 address in an IPv4-only database: not covered
                return None
        if self._networks is not None:
            return any(
                address in network
                for network in self._networks
                if network.version == address.version
            )
        return None


MAXMIND_SOURCE = "MaxMind GeoLite2"
BUNDLED_SOURCE = "geoip2fast (bundled)"
HOSTING_NETWORKS_FILE = Path(__file__).resolve().parent / "data" / "hosting_networks.txt"


@cache
def bundled_geoip():
    """geoip2fast with its country + ASN data, loaded once per process (about 1.3 s)."""
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")


@cache
def hosting_network_names() -> frozenset[str]:
    """The ASN names of hosting, VPN, proxy and Tor networks (data/hosting_networks.txt)."""
    lines = HOSTING_NETWORKS_FILE.read_text().splitlines()
    return frozenset(name.casefold() for line in lines if (name := line.split("#", 1)[0].strip()))


def ip_source_label() -> str:
    """The IP data the settings name, without loading it (for pages)."""
    if settings.GEOIP_PATH and Path(settings.GEOIP_PATH).is_file():
        return MAXMIND_SOURCE
    return BUNDLED_SOURCE if settings.GEOIP_BUNDLED else ""


@cache
def geoip() -> GeoIp:
    return GeoIp(
        settings.GEOIP_PATH,
        settings.GEOIP_ANONYMOUS_PATH,
        settings.RISK_ANONYMOUS_NETWORKS_PATH,
        bundled=settings.GEOIP_BUNDLED,
    )
