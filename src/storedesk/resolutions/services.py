"""The only writers of resolutions (filled in below)."""
