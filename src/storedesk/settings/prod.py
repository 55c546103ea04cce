"""The settings `storedesk` runs with: everything comes from the environment."""

from .base import *  # noqa: F403
