"""scaffold package."""
