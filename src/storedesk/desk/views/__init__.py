"""The agent's screens: the inbox (`inbox`) and the ticket page (`ticket`)."""
