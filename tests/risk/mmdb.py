"""A minimal MaxMind DB writer for tests: an IPv4 database with a few networks, in the format
the `geoip2` reader opens (MaxMind DB 2.0, 24-bit records), so GeoIP signals are tested on a
real file without shipping MaxMind's data."""

import ipaddress
import struct
import time
from pathlib import Path

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_number: int, size: int) -> bytes:
    if size < 29:
        size_bits, extra = size, b""
    elif size < 29 + 256:
        size_bits, extra = 29, bytes([size - 29])
    else:
        size_bits, extra = 30, (size - 285).to_bytes(2, "big")
    if type_number <= 7:
        return bytes([(type_number << 5) | size_bits]) + extra
    return bytes([size_bits, type_number - 7]) + extra


class Unsigned(int):
    """An unsigned integer written as a given MaxMind DB type (5: uint16, 6: uint32, 9: uint64);
    the metadata's fields must have their exact types."""

    def __new__(cls, value: int, type_number: int):
        number = super().__new__(cls, value)
        number.type_number = type_number
        return number


def encode(value) -> bytes:
    """MaxMind DB data: maps, UTF-8 strings, doubles, unsigned integers, arrays, booleans."""
    if isinstance(value, Unsigned):
        data = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return _control(value.type_number, len(data)) + data
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(
            encode(str(key)) + encode(item) for key, item in value.items()
        )
    if isinstance(value, str):
        data = value.encode()
        return _control(2, len(data)) + data
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        data = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return _control(6 if value < 2**32 else 9, len(data)) + data
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(item) for item in value)
    raise TypeError(type(value))


def write_database(path: Path, database_type: str, networks: dict[str, dict]) -> Path:
    """Write `networks` ({"203.0.113.0/24": record}) as an IPv4 database of `database_type`."""
    nodes: list[list] = [[None, None]]
    records: list[bytes] = []
    leaves: list[tuple[int, int, int]] = []  # (node, side, record index)
    for cidr, record in networks.items():
        network = ipaddress.ip_network(cidr)
        bits = int(network.network_address)
        node = 0
        for depth in range(network.prefixlen):
            side = (bits >> (31 - depth)) & 1
            if depth == network.prefixlen - 1:
                leaves.append((node, side, len(records)))
                break
            if nodes[node][side] is None:
                nodes.append([None, None])
                nodes[node][side] = len(nodes) - 1
            node = nodes[node][side]
        records.append(encode(record))
    node_count = len(nodes)
    offsets, data = [], b""
    for record in records:
        offsets.append(len(data))
        data += record
    for node, side, index in leaves:
        nodes[node][side] = node_count + 16 + offsets[index]
    tree = b"".join(
        (node_count if left is None else left).to_bytes(3, "big")
        + (node_count if right is None else right).to_bytes(3, "big")
        for left, right in nodes
    )
    metadata = {
        "node_count": Unsigned(node_count, 6),
        "record_size": Unsigned(24, 5),
        "ip_version": Unsigned(4, 5),
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": Unsigned(2, 5),
        "binary_format_minor_version": Unsigned(0, 5),
        "build_epoch": Unsigned(int(time.time()), 9),
        "description": {"en": "test database"},
    }
    path.write_bytes(tree + bytes(16) + data + METADATA_MARKER + encode(metadata))
    return path


def city_record(country: str, region: str, latitude: float, longitude: float) -> dict:
    return {
        "country": {"iso_code": country},
        "subdivisions": [{"iso_code": region}],
        "location": {"latitude": latitude, "longitude": longitude},
    }
