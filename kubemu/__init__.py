"""kubemu package."""
