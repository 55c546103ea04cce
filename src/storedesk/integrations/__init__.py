"""Adapters to outside systems: one package per system (client, webhook receiver, mapper).

Nothing outside this package imports a provider SDK; mappers turn provider payloads into the
dataclasses of `storedesk.commerce.ingest`, which the services store.
"""
