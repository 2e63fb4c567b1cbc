"""Cartera: collections management (gestión de cobranza)."""

__version__ = "0.1.0"
