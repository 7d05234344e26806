"""machinery package."""
