"""qv — QuantiVista configuration-as-code toolchain."""

__version__ = "0.1.0"
