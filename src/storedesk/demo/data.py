"""Fixed tables of the demo world: US places, names, the catalog, carriers, gateway codes.

Everything here is plain data, precomputed once, so generating a million orders is table
look-ups and `random.Random` draws, not string building or database reads.
"""

from decimal import Decimal

# (city, state, state code, ZIP codes, IANA zone, area code, weight ~ online shoppers)
CITIES = [
    (
        "New York",
        "New York",
        "NY",
        ("10001", "10016", "10024", "10128"),
        "America/New_York",
        "212",
        40,
    ),
    ("Brooklyn", "New York", "NY", ("11201", "11215", "11238"), "America/New_York", "718", 22),
    (
        "Los Angeles",
        "California",
        "CA",
        ("90012", "90024", "90046", "90066"),
        "America/Los_Angeles",
        "213",
        34,
    ),
    (
        "San Diego",
        "California",
        "CA",
        ("92101", "92103", "92117"),
        "America/Los_Angeles",
        "619",
        14,
    ),
    (
        "San Francisco",
        "California",
        "CA",
        ("94110", "94117", "94122"),
        "America/Los_Angeles",
        "415",
        12,
    ),
    ("San Jose", "California", "CA", ("95112", "95122", "95148"), "America/Los_Angeles", "408", 12),
    ("Westminster", "California", "CA", ("92683",), "America/Los_Angeles", "714", 6),
    ("Garden Grove", "California", "CA", ("92840", "92843"), "America/Los_Angeles", "714", 5),
    ("Sacramento", "California", "CA", ("95814", "95822"), "America/Los_Angeles", "916", 7),
    ("Chicago", "Illinois", "IL", ("60614", "60657", "60622"), "America/Chicago", "312", 24),
    ("Houston", "Texas", "TX", ("77002", "77006", "77019", "77036"), "America/Chicago", "713", 22),
    ("Dallas", "Texas", "TX", ("75201", "75204", "75218"), "America/Chicago", "214", 14),
    ("Austin", "Texas", "TX", ("78701", "78704", "78745"), "America/Chicago", "512", 11),
    ("San Antonio", "Texas", "TX", ("78205", "78209"), "America/Chicago", "210", 10),
    ("Phoenix", "Arizona", "AZ", ("85004", "85016", "85032"), "America/Phoenix", "602", 13),
    ("Philadelphia", "Pennsylvania", "PA", ("19103", "19147"), "America/New_York", "215", 13),
    ("Pittsburgh", "Pennsylvania", "PA", ("15213", "15222"), "America/New_York", "412", 6),
    ("Miami", "Florida", "FL", ("33130", "33139", "33145"), "America/New_York", "305", 12),
    ("Orlando", "Florida", "FL", ("32801", "32803"), "America/New_York", "407", 8),
    ("Tampa", "Florida", "FL", ("33602", "33606"), "America/New_York", "813", 8),
    ("Jacksonville", "Florida", "FL", ("32202", "32205"), "America/New_York", "904", 7),
    ("Atlanta", "Georgia", "GA", ("30303", "30309", "30318"), "America/New_York", "404", 13),
    ("Charlotte", "North Carolina", "NC", ("28202", "28205"), "America/New_York", "704", 8),
    ("Raleigh", "North Carolina", "NC", ("27601", "27608"), "America/New_York", "919", 6),
    ("Columbus", "Ohio", "OH", ("43215", "43201"), "America/New_York", "614", 7),
    ("Cleveland", "Ohio", "OH", ("44113", "44102"), "America/New_York", "216", 5),
    ("Detroit", "Michigan", "MI", ("48226", "48201"), "America/Detroit", "313", 6),
    ("Indianapolis", "Indiana", "IN", ("46204", "46220"), "America/Indiana/Indianapolis", "317", 6),
    ("Seattle", "Washington", "WA", ("98101", "98122", "98118"), "America/Los_Angeles", "206", 11),
    ("Portland", "Oregon", "OR", ("97205", "97209", "97214"), "America/Los_Angeles", "503", 7),
    ("Denver", "Colorado", "CO", ("80202", "80206", "80210"), "America/Denver", "303", 9),
    ("Salt Lake City", "Utah", "UT", ("84101", "84105"), "America/Denver", "801", 4),
    ("Albuquerque", "New Mexico", "NM", ("87102", "87106"), "America/Denver", "505", 3),
    ("Boise", "Idaho", "ID", ("83702",), "America/Boise", "208", 2),
    ("Las Vegas", "Nevada", "NV", ("89101", "89109", "89123"), "America/Los_Angeles", "702", 7),
    ("Washington", "District of Columbia", "DC", ("20001", "20009"), "America/New_York", "202", 8),
    ("Baltimore", "Maryland", "MD", ("21202", "21224"), "America/New_York", "410", 5),
    ("Boston", "Massachusetts", "MA", ("02116", "02118", "02127"), "America/New_York", "617", 10),
    ("Providence", "Rhode Island", "RI", ("02903",), "America/New_York", "401", 2),
    ("Hartford", "Connecticut", "CT", ("06103", "06106"), "America/New_York", "860", 3),
    ("Newark", "New Jersey", "NJ", ("07102", "07105"), "America/New_York", "973", 5),
    ("Jersey City", "New Jersey", "NJ", ("07302", "07306"), "America/New_York", "201", 5),
    ("Richmond", "Virginia", "VA", ("23219", "23220"), "America/New_York", "804", 4),
    ("Virginia Beach", "Virginia", "VA", ("23451", "23462"), "America/New_York", "757", 4),
    ("Nashville", "Tennessee", "TN", ("37203", "37206"), "America/Chicago", "615", 7),
    ("Memphis", "Tennessee", "TN", ("38103", "38111"), "America/Chicago", "901", 4),
    ("Louisville", "Kentucky", "KY", ("40202", "40204"), "America/Kentucky/Louisville", "502", 4),
    ("Milwaukee", "Wisconsin", "WI", ("53202", "53211"), "America/Chicago", "414", 4),
    ("Minneapolis", "Minnesota", "MN", ("55401", "55408"), "America/Chicago", "612", 6),
    ("Kansas City", "Missouri", "MO", ("64105", "64111"), "America/Chicago", "816", 4),
    ("New Orleans", "Louisiana", "LA", ("70112", "70115"), "America/Chicago", "504", 4),
    ("Oklahoma City", "Oklahoma", "OK", ("73102", "73118"), "America/Chicago", "405", 4),
    ("Birmingham", "Alabama", "AL", ("35203", "35209"), "America/Chicago", "205", 3),
    ("Omaha", "Nebraska", "NE", ("68102", "68114"), "America/Chicago", "402", 3),
    ("Des Moines", "Iowa", "IA", ("50309", "50312"), "America/Chicago", "515", 2),
    ("Little Rock", "Arkansas", "AR", ("72201", "72205"), "America/Chicago", "501", 2),
    ("Charleston", "South Carolina", "SC", ("29401", "29403"), "America/New_York", "843", 3),
    ("Honolulu", "Hawaii", "HI", ("96813", "96815"), "Pacific/Honolulu", "808", 3),
    ("Anchorage", "Alaska", "AK", ("99501", "99503"), "America/Anchorage", "907", 1),
]

# Freight forwarders' receiving warehouses: sales-tax-free or export hubs. Suite numbers carry
# the forwarder's customer code, the tell-tale of a reshipper.
FORWARDER_ADDRESSES = [
    ("8256 NW 30th Ter", "Doral", "Florida", "FL", "33122", "America/New_York", "305"),
    ("1850 NW 84th Ave", "Doral", "Florida", "FL", "33126", "America/New_York", "305"),
    ("4 Bellecor Dr", "New Castle", "Delaware", "DE", "19720", "America/New_York", "302"),
    ("250 Executive Dr", "Newark", "Delaware", "DE", "19702", "America/New_York", "302"),
    ("12050 NE Marx St", "Portland", "Oregon", "OR", "97220", "America/Los_Angeles", "503"),
    (
        "1 Meadowlands Plz",
        "East Rutherford",
        "New Jersey",
        "NJ",
        "07073",
        "America/New_York",
        "201",
    ),
]

STREETS = [
    "Main St",
    "Oak Ave",
    "Maple Dr",
    "Cedar Ln",
    "Park Ave",
    "Elm St",
    "Washington Blvd",
    "Lake St",
    "Hillcrest Rd",
    "Sunset Blvd",
    "Pine St",
    "2nd St",
    "Highland Ave",
    "Church St",
    "Willow Way",
    "Magnolia Ave",
    "Lincoln Ave",
    "Jefferson St",
    "River Rd",
    "Meadow Ln",
    "Chestnut St",
    "Spring St",
    "Walnut Ave",
    "Franklin St",
    "Bayview Dr",
    "Forest Ave",
    "Ridge Rd",
    "Valley View Dr",
    "Broadway",
    "Orchard St",
]

FIRST_NAMES = [
    "Emma",
    "Olivia",
    "Ava",
    "Sophia",
    "Isabella",
    "Mia",
    "Charlotte",
    "Amelia",
    "Harper",
    "Evelyn",
    "Abigail",
    "Emily",
    "Elizabeth",
    "Sofia",
    "Madison",
    "Avery",
    "Ella",
    "Scarlett",
    "Grace",
    "Chloe",
    "Victoria",
    "Riley",
    "Aria",
    "Lily",
    "Hannah",
    "Zoey",
    "Nora",
    "Layla",
    "Jessica",
    "Ashley",
    "Sarah",
    "Jennifer",
    "Megan",
    "Lauren",
    "Rachel",
    "Nicole",
    "Stephanie",
    "Michelle",
    "Amanda",
    "Kimberly",
    "Linh",
    "Mai",
    "Thu",
    "Anh",
    "Vy",
    "Maria",
    "Camila",
    "Valentina",
    "Jasmine",
    "Aaliyah",
    "James",
    "Michael",
    "David",
    "Daniel",
    "Matthew",
    "Christopher",
    "Andrew",
    "Joshua",
    "Ryan",
    "Brandon",
    "Kevin",
    "Jason",
    "Tuan",
    "Minh",
    "Carlos",
    "Luis",
    "Tyler",
    "Justin",
    "Eric",
    "Jacob",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Tran",
    "Le",
    "Pham",
    "Kim",
    "Patel",
    "Chen",
    "Wang",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Peterson",
    "Cooper",
    "Reed",
    "Bailey",
    "Bell",
    "Gomez",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Diaz",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "James",
    "Reyes",
    "Hughes",
    "Price",
    "Myers",
    "Long",
    "Foster",
    "Sanders",
    "Ross",
    "Morales",
    "Powell",
    "Sullivan",
    "Russell",
    "Ortiz",
    "Jenkins",
    "Gutierrez",
    "Perry",
    "Butler",
    "Barnes",
    "Fisher",
    "Henderson",
    "Coleman",
]
# (domain, weight): what US shoppers really use.
EMAIL_DOMAINS = [
    ("gmail.com", 46),
    ("yahoo.com", 12),
    ("icloud.com", 13),
    ("hotmail.com", 6),
    ("outlook.com", 7),
    ("aol.com", 4),
    ("comcast.net", 3),
    ("att.net", 2),
    ("live.com", 2),
    ("me.com", 2),
    ("msn.com", 1),
]
DISPOSABLE_DOMAINS = [
    "mailinator.com",
    "yopmail.com",
    "guerrillamail.com",
    "sharklasers.com",
    "10minutemail.com",
    "temp-mail.org",
    "trashmail.com",
    "getnada.com",
]

# Residential US prefixes (Comcast, Charter, Verizon, AT&T, T-Mobile) and foreign ones used
# by fraud: (prefix, country). Hosting/VPN ranges (DigitalOcean, Vultr, OVH) for proxies.
US_IP_PREFIXES = ["73.", "24.", "68.", "98.", "71.", "76.", "99.", "108.", "172.58.", "174.205."]
FOREIGN_IP_PREFIXES = [
    ("105.112.", "NG"),
    ("41.58.", "NG"),
    ("36.68.", "ID"),
    ("182.1.", "ID"),
    ("95.24.", "RU"),
    ("177.37.", "BR"),
    ("39.40.", "PK"),
    ("103.152.", "BD"),
    ("31.223.", "TR"),
]
HOSTING_IP_PREFIXES = ["104.248.", "159.89.", "45.77.", "51.91.", "192.241."]

USER_AGENTS = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
        38,
    ),
    (
        "Mozilla/5.0 (Linux; Android 15; SM-S921U) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/138.0.0.0 Mobile Safari/537.36",
        18,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/138.0.0.0 Safari/537.36",
        20,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.5 Safari/605.1.15",
        12,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Mobile/22F76 [FBAN/FBIOS;FBAV/512.0.0.44.110;FBBV/735418930]",
        12,
    ),
]
REFERRERS = [
    ("https://www.instagram.com/", 22),
    ("https://www.google.com/", 25),
    ("https://www.facebook.com/", 16),
    ("https://www.pinterest.com/", 9),
    ("https://www.tiktok.com/", 8),
    ("", 20),
]

# --- Catalog -----------------------------------------------------------------------------------

MOTIFS = [
    "Lotus",
    "Moonstone",
    "Ha Long Pearl",
    "Bamboo",
    "Hoi An Lantern",
    "Jade Leaf",
    "Dragonfly",
    "Sapa Filigree",
    "Mekong Wave",
    "Plum Blossom",
    "Crescent Moon",
    "Celestial Star",
    "Infinity Knot",
    "Birthstone",
    "Twisted Rope",
    "Solitaire",
]
KIND_NAMES = {
    "ring": "Ring",
    "necklace": "Necklace",
    "earrings": "Earrings",
    "bracelet": "Bracelet",
}
KIND_CODES = {"ring": "RG", "necklace": "NK", "earrings": "ER", "bracelet": "BR"}
MATERIAL_CODES = {"silver": "SLV", "gold_plated": "GPL", "solid_gold": "14K"}
MATERIAL_NAMES = {
    "silver": "Sterling Silver",
    "gold_plated": "18K Gold-Plated",
    "solid_gold": "14K Solid Gold",
}
# Price bands in USD by (kind, material): the store's real range is $19-$899.
PRICE_BANDS = {
    ("ring", "silver"): (29, 79),
    ("ring", "gold_plated"): (39, 99),
    ("ring", "solid_gold"): (249, 899),
    ("necklace", "silver"): (35, 89),
    ("necklace", "gold_plated"): (45, 119),
    ("necklace", "solid_gold"): (299, 899),
    ("earrings", "silver"): (19, 59),
    ("earrings", "gold_plated"): (25, 79),
    ("earrings", "solid_gold"): (179, 599),
    ("bracelet", "silver"): (39, 99),
    ("bracelet", "gold_plated"): (49, 129),
    ("bracelet", "solid_gold"): (349, 899),
}
RING_SIZES = [
    "4",
    "4.5",
    "5",
    "5.5",
    "6",
    "6.5",
    "7",
    "7.5",
    "8",
    "8.5",
    "9",
    "9.5",
    "10",
    "10.5",
    "11",
    "11.5",
    "12",
]
# Women's sizes cluster around 6-7; men's gifts and bands push the tail to 9-12.
RING_SIZE_WEIGHTS = [1, 1, 3, 5, 9, 12, 13, 11, 8, 6, 5, 3, 3, 2, 1, 1, 1]
NECKLACE_LENGTHS = ["16", "18", "20", "22"]
NECKLACE_LENGTH_WEIGHTS = [25, 45, 20, 10]
BRACELET_SIZES = ["6.5", "7", "7.5"]
KIND_WEIGHTS = {"ring": 35, "necklace": 28, "earrings": 22, "bracelet": 15}
MATERIAL_WEIGHTS = {"silver": 55, "gold_plated": 33, "solid_gold": 12}
GRAMS = {"ring": 4, "necklace": 6, "earrings": 3, "bracelet": 9}

# --- Shipping from Hanoi -----------------------------------------------------------------------

# (code, title, price, carrier, service, transit days (min, max), expedited, weight)
SHIPPING_OPTIONS = [
    (
        "standard",
        "Standard International (10-20 business days)",
        Decimal("6.95"),
        "USPS",
        "Vietnam Post EMS / USPS delivery",
        (9, 24),
        False,
        70,
    ),
    (
        "ups-saver",
        "Tracked Express (6-9 business days)",
        Decimal("14.95"),
        "UPS",
        "UPS Worldwide Saver",
        (6, 11),
        False,
        15,
    ),
    (
        "dhl-express",
        "DHL Express (3-5 business days)",
        Decimal("24.95"),
        "DHL Express",
        "DHL Express Worldwide",
        (3, 6),
        True,
        10,
    ),
    (
        "fedex-ip",
        "FedEx International Priority (3-5 business days)",
        Decimal("29.95"),
        "FedEx",
        "FedEx International Priority",
        (3, 6),
        True,
        5,
    ),
]
FREE_SHIPPING_OVER = Decimal("75.00")
TRACKING_URLS = {
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "UPS": "https://www.ups.com/track?tracknum={}",
    "DHL Express": "https://www.dhl.com/us-en/home/tracking/tracking-express.html"
    "?submit=1&tracking-id={}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={}",
}
# Where the parcel enters the US, per carrier (city, state code).
GATEWAYS_IN_US = {
    "USPS": [("Los Angeles", "CA"), ("San Francisco", "CA"), ("Chicago", "IL"), ("Jamaica", "NY")],
    "UPS": [("Louisville", "KY"), ("Ontario", "CA")],
    "DHL Express": [("Cincinnati", "KY"), ("Los Angeles", "CA")],
    "FedEx": [("Memphis", "TN"), ("Indianapolis", "IN"), ("Oakland", "CA")],
}
TRANSIT_HUBS = {
    "USPS": ("Hanoi", "", "VN"),
    "UPS": ("Shenzhen", "", "CN"),
    "DHL Express": ("Hong Kong", "", "HK"),
    "FedEx": ("Guangzhou", "", "CN"),
}
USPS_DELIVERY_LOCATIONS = [
    ("In/At Mailbox", 55),
    ("Front Door/Porch", 30),
    ("Parcel Locker", 8),
    ("Front Desk/Reception/Mail Room", 7),
]
COURIER_DELIVERY_LOCATIONS = [
    ("Front Door", 50),
    ("Left with individual", 25),
    ("Reception", 10),
    ("Garage", 5),
    ("Side door", 10),
]

# --- Gateways ----------------------------------------------------------------------------------

CARD_BRANDS = [("visa", 52), ("mastercard", 28), ("amex", 14), ("discover", 6)]
WALLETS = [("", 72), ("apple_pay", 18), ("google_pay", 6), ("link", 4)]
DECLINES = [
    # (failure_code, outcome reason, failure message)
    ("card_declined", "generic_decline", "Your card was declined."),
    ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."),
    ("card_declined", "do_not_honor", "Your card was declined."),
    ("expired_card", "expired_card", "Your card has expired."),
    ("card_declined", "stolen_card", "Your card was declined."),
]

# Card-network reason codes for a Stripe dispute reason, per brand (Visa, Mastercard, Amex,
# Discover). Sources: Visa Dispute Management Guidelines, Mastercard Chargeback Guide, Amex and
# Discover dispute code lists (summarised in ../shared/reference/payments.md).
NETWORK_REASON_CODES = {
    "fraudulent": {"visa": "10.4", "mastercard": "4837", "amex": "F29", "discover": "UA02"},
    "product_not_received": {
        "visa": "13.1",
        "mastercard": "4855",
        "amex": "C08",
        "discover": "4755",
    },
    "product_unacceptable": {
        "visa": "13.3",
        "mastercard": "4853",
        "amex": "C31",
        "discover": "4553",
    },
    "credit_not_processed": {
        "visa": "13.6",
        "mastercard": "4853",
        "amex": "C02",
        "discover": "8002",
    },
    "duplicate": {"visa": "12.6.1", "mastercard": "4834", "amex": "P08", "discover": "4534"},
    "unrecognized": {"visa": "10.4", "mastercard": "4863", "amex": "F24", "discover": "AA"},
    "general": {"visa": "13.7", "mastercard": "4853", "amex": "C31", "discover": "4553"},
}
# The same customer complaint in PayPal's words.
PAYPAL_REASONS = {
    "fraudulent": "UNAUTHORISED",
    "unrecognized": "UNAUTHORISED",
    "product_not_received": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
    "product_unacceptable": "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED",
    "credit_not_processed": "CREDIT_NOT_PROCESSED",
    "duplicate": "DUPLICATE_TRANSACTION",
    "general": "OTHER",
}

# --- Policies ----------------------------------------------------------------------------------

POLICY_TEXTS = {
    "returns": [
        (
            "Returns and refunds",
            "Return any unworn piece within 30 days of delivery for a "
            "refund of the item price. Ring sizes can be exchanged once for free. Return shipping "
            "to Hanoi is paid by the customer unless the item arrived damaged or wrong.",
        ),
        (
            "Returns and refunds (holiday extension)",
            "Return any unworn piece within 45 days of "
            "delivery (orders placed from November 1 to December 31 may be returned until "
            "January 31). Ring sizes can be exchanged once for free. Return shipping to Hanoi is "
            "paid by the customer unless the item arrived damaged or wrong.",
        ),
    ],
    "shipping": [
        (
            "Shipping",
            "Every piece is handmade and ships from Hanoi, Vietnam within 1-3 business "
            "days. Standard International: 10-20 business days (free over $75). Tracked Express "
            "(UPS): 6-9 business days. DHL Express and FedEx International Priority: 3-5 business "
            "days. Customs delays are rare but possible; duties are prepaid.",
        ),
        (
            "Shipping (holiday cut-off)",
            "Every piece is handmade and ships from Hanoi, Vietnam "
            "within 1-3 business days. For delivery before Christmas order Standard International "
            "by November 28 and Express by December 12. Parcels shown as delivered but not "
            "received must be reported within 7 days so we can open a carrier claim.",
        ),
    ],
    "warranty": [
        (
            "Warranty",
            "Solid gold pieces carry a lifetime warranty against "
            "manufacturing defects; silver and gold-plated pieces one year. Plating wear "
            "from normal use is not a defect; we re-plate at cost.",
        )
    ],
    "privacy": [
        (
            "Privacy",
            "We use your details only to process and deliver your order and "
            "to answer you. Card data is handled by Stripe or PayPal, never by us.",
        )
    ],
    "terms": [
        (
            "Terms of service",
            "Prices are in US dollars. Orders are confirmed when payment "
            "is captured. Orders that fail our fraud checks may be cancelled and refunded.",
        )
    ],
}
