"""Admin pages of messaging, one module per concern; Django imports this package."""
