"""IP lookups of the bundled geoip2fast data: load time once per process, then lookups per
second over 100k addresses (the risk signals' path: country + hosting network)."""

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storedesk.settings.test")

import django

django.setup()

from storedesk.risk import reference  # noqa: E402

COUNT = 100_000


def main() -> None:
    started = time.perf_counter()
    reader = reference.GeoIp(bundled=True)
    loaded = time.perf_counter() - started
    rng = random.Random(7)  # noqa: S311  (sample addresses, not secrets)
    ips = [".".join(str(rng.randrange(1, 255)) for _ in range(4)) for _ in range(COUNT)]
    started = time.perf_counter()
    answered = sum(1 for ip in ips if reader.lookup(ip).country)
    took = time.perf_counter() - started
    hosting = sum(1 for ip in ips[:10_000] if reader.lookup(ip).is_anonymous)
    print(f"geoip2fast load (country + ASN data, once per process): {loaded:.2f} s")
    print(f"{COUNT:,} lookups in {took:.2f} s: {COUNT / took:,.0f} lookups/s")
    print(f"country found for {answered / COUNT:.1%}; hosting network for {hosting / 100:.1f}%")


if __name__ == "__main__":
    main()
