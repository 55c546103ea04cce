"""The demo's base world: catalog, shoppers, the calendar of orders and the base order plan.

All of it is plain Python over the tables in `data.py`, drawing from seeded random streams.
"""

from __future__ import annotations

import string
from bisect import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate

from storedesk.commerce.ingest import ProductIn, VariantIn
from storedesk.demo import data
from storedesk.demo.scenarios import DemoContext, OrderPlan, ShippingChoice, Shopper

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
PAYPAL_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = string.digits
CENT = Decimal("0.01")
# UTC hours weighted by when US shoppers buy (evening Eastern = 23:00-04:00 UTC).
UTC_HOUR_WEIGHTS = [9, 9, 8, 7, 5, 3, 2, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 6, 6, 7, 7, 8, 8, 9]


def token(rng, alphabet: str, length: int) -> str:
    return "".join(rng.choices(alphabet, k=length))


class Weighted:
    """Fast repeated weighted choice over a fixed table (cumulative weights + bisect)."""

    def __init__(self, items, weights):
        self.items = list(items)
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]

    def pick(self, rng):
        return self.items[bisect(self.cumulative, rng.random() * self.total)]


@dataclass(frozen=True, slots=True)
class CatalogVariant:
    sku: str
    title: str
    variant_title: str
    size: str
    price: Decimal
    kind: str
    material: str


class Catalog:
    """The store's products and a fast way to pick what a shopper buys."""

    def __init__(self, rng):
        self.products: list[ProductIn] = []
        self.by_kind_material: dict[tuple[str, str], list[list[CatalogVariant]]] = {}
        serial = 0
        for motif in data.MOTIFS:
            for kind in data.KIND_NAMES:
                materials = rng.sample(list(data.MATERIAL_CODES), rng.choice([1, 2, 2, 3]))
                for material in materials:
                    serial += 1
                    self._add(rng, serial, motif, kind, material)
        self.kinds = Weighted(data.KIND_WEIGHTS, data.KIND_WEIGHTS.values())
        self.materials = Weighted(data.MATERIAL_WEIGHTS, data.MATERIAL_WEIGHTS.values())
        self.vip_materials = Weighted(["silver", "gold_plated", "solid_gold"], [30, 30, 40])
        self.ring_sizes = Weighted(range(len(data.RING_SIZES)), data.RING_SIZE_WEIGHTS)
        self.lengths = Weighted(range(4), data.NECKLACE_LENGTH_WEIGHTS)

    def _add(self, rng, serial: int, motif: str, kind: str, material: str) -> None:
        low, high = data.PRICE_BANDS[(kind, material)]
        base = Decimal(max(low, min(high, rng.randint(low, high) // 5 * 5 + 4)))
        title = f"{motif} {data.MATERIAL_NAMES[material]} {data.KIND_NAMES[kind]}"
        handle = title.lower().replace(" ", "-").replace("14k-", "14k-")
        stem = f"{data.KIND_CODES[kind]}-{data.MATERIAL_CODES[material]}-{serial:04d}"
        if kind == "ring":
            sizes = [(size, f"Size {size}", base) for size in data.RING_SIZES]
        elif kind == "necklace":
            sizes = [
                (f"{inches}IN", f'{inches}"', base + Decimal(5 * i))
                for i, inches in enumerate(data.NECKLACE_LENGTHS)
            ]
        elif kind == "bracelet":
            sizes = [(f"{size}IN", f'{size}"', base) for size in data.BRACELET_SIZES]
        else:
            sizes = [("", "Pair", base)]
        variants = [
            CatalogVariant(
                sku=f"{stem}-{size}" if size else stem,
                title=title,
                variant_title=label,
                size=size,
                price=price,
                kind=kind,
                material=material,
            )
            for size, label, price in sizes
        ]
        self.products.append(
            ProductIn(
                title=title,
                handle=handle,
                kind=kind,
                material=material,
                vendor="Tiny Pearl Hanoi",
                provider_id=str(8_100_000_000 + serial * 7919),
                variants=tuple(
                    VariantIn(
                        sku=v.sku,
                        price=v.price,
                        title=v.variant_title,
                        size=v.size,
                        grams=data.GRAMS[kind],
                    )
                    for v in variants
                ),
            )
        )
        self.by_kind_material.setdefault((kind, material), []).append(variants)

    def pick(
        self, rng, *, vip: bool = False, kind: str | None = None, material: str | None = None
    ) -> CatalogVariant:
        kind = kind or self.kinds.pick(rng)
        material = material or (self.vip_materials if vip else self.materials).pick(rng)
        options = self.by_kind_material.get((kind, material))
        if not options:
            options = self.by_kind_material[(kind, "silver")]
        variants = rng.choice(options)
        if kind == "ring":
            return variants[self.ring_sizes.pick(rng)]
        if kind == "necklace":
            return variants[self.lengths.pick(rng)]
        return rng.choice(variants)

    def cheapest(self, rng) -> CatalogVariant:
        return rng.choice(self.by_kind_material[("earrings", "silver")])[0]


class Shoppers:
    """New, returning and VIP buyers; memory stays bounded (a capped pool of returners)."""

    POOL_CAP = 30_000

    def __init__(self, ctx: DemoContext):
        self.rng = ctx.random_for("shoppers")
        self.serial = 0
        self.used_emails: dict[str, int] = {}
        self.cities = Weighted(data.CITIES, [city[-1] for city in data.CITIES])
        self.domains = Weighted(
            [d for d, _ in data.EMAIL_DOMAINS], [w for _, w in data.EMAIL_DOMAINS]
        )
        self.brands = Weighted([b for b, _ in data.CARD_BRANDS], [w for _, w in data.CARD_BRANDS])
        self.wallets = Weighted([w for w, _ in data.WALLETS], [n for _, n in data.WALLETS])
        self.pool: list[Shopper] = []
        self.vips = [self.new(is_vip=True) for _ in range(max(12, ctx.orders_wanted // 500))]

    def email_for(self, first: str, last: str, domain: str | None = None) -> str:
        rng = self.rng
        style = rng.randrange(6)
        first_l, last_l = first.lower(), last.lower()
        local = [
            f"{first_l}.{last_l}",
            f"{first_l}{last_l}",
            f"{first_l[0]}{last_l}",
            f"{first_l}_{last_l}",
            f"{first_l}{last_l}{rng.randint(70, 99)}",
            f"{last_l}.{first_l}",
        ][style]
        domain = domain or self.domains.pick(rng)
        key = f"{local}@{domain}"
        seen = self.used_emails.get(key, 0)
        self.used_emails[key] = seen + 1
        if seen:
            local = f"{local}{seen + rng.randint(1, 9) * 10}"
            key = f"{local}@{domain}"
            while key in self.used_emails:
                local += rng.choice(DIGITS)
                key = f"{local}@{domain}"
            self.used_emails[key] = 1
        return key

    def address(self, first: str, last: str, city=None) -> tuple[dict, str, str]:
        rng = self.rng
        name, state, code, zips, zone, area, _ = city or self.cities.pick(rng)
        phone = f"+1{area}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"
        address = {
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "address1": f"{rng.randint(10, 9899)} {rng.choice(data.STREETS)}",
            "address2": f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}"
            if rng.random() < 0.22
            else "",
            "city": name,
            "province": state,
            "province_code": code,
            "country": "United States",
            "country_code": "US",
            "zip": rng.choice(zips),
            "phone": phone,
            "company": None,
        }
        return address, zone, phone

    def new(
        self,
        *,
        is_vip: bool = False,
        email_domain: str | None = None,
        email: str | None = None,
        city=None,
    ) -> Shopper:
        rng = self.rng
        self.serial += 1
        first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.LAST_NAMES)
        address, zone, phone = self.address(first, last, city)
        return Shopper(
            serial=self.serial,
            first_name=first,
            last_name=last,
            email=email or self.email_for(first, last, email_domain),
            phone=phone,
            address=address,
            timezone=zone,
            card_brand=self.brands.pick(rng),
            card_last4=token(rng, DIGITS, 4),
            card_fingerprint=token(rng, ALNUM, 16),
            card_funding="debit" if rng.random() < 0.3 else "credit",
            card_wallet=self.wallets.pick(rng),
            paypal_payer_id=token(rng, PAYPAL_ID_ALPHABET, 13),
            prefers_paypal=rng.random() < 0.4,
            is_vip=is_vip,
        )

    def pick(self) -> tuple[Shopper, bool]:
        """A VIP (4%), a returning buyer (22%) or a new one who may come back later."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.04:
            shopper = rng.choice(self.vips)
        elif roll < 0.26 and self.pool:
            shopper = rng.choice(self.pool)
        else:
            shopper = self.new()
            if rng.random() < 0.35:
                if len(self.pool) < self.POOL_CAP:
                    self.pool.append(shopper)
                else:
                    self.pool[rng.randrange(self.POOL_CAP)] = shopper
        shopper.orders += 1
        return shopper, shopper.orders == 1


# --- Calendar ----------------------------------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


@lru_cache(maxsize=4096)
def season_factor(day: date) -> float:
    """How busy a day is: Valentine's, Mother's Day, BFCM and Christmas peaks, summer lull."""
    factor = [1.05, 1.0, 0.97, 0.95, 0.9, 0.95, 1.1][day.weekday()]
    valentine = date(day.year, 2, 14)
    mothers_day = _nth_weekday(day.year, 5, 6, 2)
    black_friday = _nth_weekday(day.year, 11, 3, 4) + timedelta(days=1)
    if valentine - timedelta(days=20) <= day < valentine - timedelta(days=3):
        factor *= 1.9
    elif mothers_day - timedelta(days=16) <= day < mothers_day - timedelta(days=4):
        factor *= 1.7
    elif black_friday <= day <= black_friday + timedelta(days=3):
        factor *= 3.5
    elif black_friday - timedelta(days=7) <= day < black_friday:
        factor *= 1.4
    elif date(day.year, 12, 1) <= day <= date(day.year, 12, 12):
        factor *= 2.0
    elif date(day.year, 12, 13) <= day <= date(day.year, 12, 20):
        factor *= 1.3
    elif date(day.year, 12, 21) <= day <= date(day.year, 12, 27):
        factor *= 0.6
    elif day.month in (7, 8):
        factor *= 0.85
    return factor


@lru_cache(maxsize=4096)
def season_of(day: date) -> str:
    """The marketing season an order falls in (drives discount codes and gift notes)."""
    valentine = date(day.year, 2, 14)
    mothers_day = _nth_weekday(day.year, 5, 6, 2)
    black_friday = _nth_weekday(day.year, 11, 3, 4) + timedelta(days=1)
    if valentine - timedelta(days=20) <= day <= valentine:
        return "valentine"
    if mothers_day - timedelta(days=16) <= day <= mothers_day:
        return "mothers_day"
    if black_friday <= day <= black_friday + timedelta(days=3):
        return "bfcm"
    if date(day.year, 12, 1) <= day <= date(day.year, 12, 24):
        return "christmas"
    return ""


def day_elapsed(now: datetime) -> float:
    """The part of its last (UTC) day the demo's clock has run through: 1.0 at midnight."""
    seconds = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    return seconds / 86_400 if seconds else 1.0


def daily_counts(ctx: DemoContext) -> list[tuple[date, int]]:
    """Spread exactly `orders_wanted` orders over the days (largest remainder, deterministic)."""
    rng = ctx.random_for("calendar")
    first, last = ctx.start.date(), (ctx.now - timedelta(seconds=1)).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    span = max(len(days) - 1, 1)
    weights = [
        season_factor(day) * (0.8 + 0.4 * i / span) * rng.uniform(0.88, 1.12)
        for i, day in enumerate(days)
    ]
    weights[-1] *= day_elapsed(ctx.now)  # the last day gets orders only for its hours so far
    total = sum(weights)
    shares = [ctx.orders_wanted * weight / total for weight in weights]
    counts = [int(share) for share in shares]
    missing = ctx.orders_wanted - sum(counts)
    by_remainder = sorted(range(len(days)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:missing]:
        counts[i] += 1
    return list(zip(days, counts, strict=True))


# --- The base plan of an order -----------------------------------------------------------------


class World:
    """Turns the calendar into base order plans; scenarios then shape them."""

    def __init__(self, ctx: DemoContext):
        self.ctx = ctx
        self.rng = ctx.random_for("orders")
        self.catalog = ctx.catalog
        self.shoppers = Shoppers(ctx)
        self.shipping = Weighted(
            [
                ShippingChoice(code, title, price, carrier, service, transit, expedited)
                for code, title, price, carrier, service, transit, expedited, _weight in (
                    data.SHIPPING_OPTIONS
                )
            ],
            [option[-1] for option in data.SHIPPING_OPTIONS],
        )
        self.hours = Weighted(range(24), UTC_HOUR_WEIGHTS)
        self.user_agents = Weighted(
            [u for u, _ in data.USER_AGENTS], [w for _, w in data.USER_AGENTS]
        )
        self.referrers = Weighted([r for r, _ in data.REFERRERS], [w for _, w in data.REFERRERS])
        self.prefix = ctx.store.order_number_prefix or "#"

    def shipping_option(self, code: str) -> ShippingChoice:
        return next(item for item in self.shipping.items if item.code == code)

    def us_ip(self, rng) -> str:
        prefix = rng.choice(data.US_IP_PREFIXES)
        parts = 4 - prefix.count(".")
        return prefix + ".".join(str(rng.randint(1, 254)) for _ in range(parts))

    def ip_with(self, rng, prefix: str) -> str:
        return prefix + ".".join(str(rng.randint(1, 254)) for _ in range(4 - prefix.count(".")))

    def plans(self):
        """Yield base plans in time order; order numbers follow creation time."""
        seq = 0
        now = self.ctx.now
        for day, count in daily_counts(self.ctx):
            midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
            # The day the clock stops in is squeezed into its hours so far: nothing after now.
            share = day_elapsed(now) if midnight + timedelta(days=1) > now else 1.0
            offsets = sorted(
                int((self.hours.pick(self.rng) * 3600 + self.rng.randrange(3600)) * share)
                for _ in range(count)
            )
            for offset in offsets:
                yield self.plan(seq, midnight + timedelta(seconds=offset))
                seq += 1

    def lines_for(self, rng, shopper: Shopper) -> list:
        count = 1 if rng.random() < 0.7 else (2 if rng.random() < 0.75 else 3)
        return [
            (self.catalog.pick(rng, vip=shopper.is_vip), 2 if rng.random() < 0.05 else 1)
            for _ in range(count)
        ]

    def plan(self, seq: int, created_at: datetime) -> OrderPlan:
        rng = self.rng
        forced = self.ctx.forced.get(seq, {})
        shopper, is_new = self.shoppers.pick()
        gateway = forced.get("gateway") or (
            "paypal" if shopper.prefers_paypal and rng.random() < 0.95 else "stripe"
        )
        shipping = self.shipping.pick(rng)
        plan = OrderPlan(
            seq=seq,
            number=f"{self.prefix}{1001 + seq}",
            created_at=created_at,
            shopper=shopper,
            is_new_customer=is_new,
            lines=self.lines_for(rng, shopper),
            shipping=shipping,
            gateway=gateway,
            billing_address=shopper.address,
            shipping_address=shopper.address,
            email=shopper.email,
            browser_ip=self.us_ip(rng),
            user_agent=self.user_agents.pick(rng),
            referring_site=self.referrers.pick(rng),
            landing_site="",
            card_brand=shopper.card_brand,
            card_last4=shopper.card_last4,
            card_fingerprint=shopper.card_fingerprint,
            card_funding=shopper.card_funding,
            card_wallet=shopper.card_wallet,
            risk_score=min(int(rng.triangular(1, 60, 9)), 64),
            extra=dict(forced),
        )
        if shopper.is_vip:
            plan.tags.append("VIP")
        if rng.random() < 0.015:
            plan.risk_score = rng.randint(65, 74)  # Radar false positive on a good buyer
        self.price(plan, rng)
        return plan

    def price(self, plan: OrderPlan, rng) -> None:
        """Subtotal, discount code and landing page from the lines and the season."""
        plan.subtotal = sum(
            (variant.price * quantity for variant, quantity in plan.lines), Decimal("0.00")
        )
        season = season_of(plan.created_at.date())
        code, percent = "", 0
        if season and rng.random() < 0.3:
            code, percent = {
                "valentine": ("VALENTINE15", 15),
                "mothers_day": ("MOM15", 15),
                "bfcm": ("BFCM25", 25),
                "christmas": ("HOLIDAY20", 20),
            }[season]
        elif plan.is_new_customer and rng.random() < 0.2:
            code, percent = "WELCOME10", 10
        plan.discount_code = code
        plan.discount = (plan.subtotal * percent / 100).quantize(CENT) if percent else Decimal(0)
        variant = plan.lines[0][0]
        plan.landing_site = f"/products/{variant.title.lower().replace(' ', '-')}"
        if season and rng.random() < 0.12:
            plan.extra["gift_note"] = {
                "valentine": "Happy Valentine's Day, love you!",
                "mothers_day": "Happy Mother's Day, Mom!",
                "bfcm": "",
                "christmas": "Merry Christmas! Please don't include the receipt.",
            }[season]
