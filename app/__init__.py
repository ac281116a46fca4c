"""Puente: the hub where institutions work one case of a migrant or returned child."""

__version__ = "0.1.0"
