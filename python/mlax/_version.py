"""The version of mlax."""

__version__ = "0.1.0"
