"""Puente: the interoperability hub for the shared case of migrant and returned children."""

__version__ = "0.1.0"
