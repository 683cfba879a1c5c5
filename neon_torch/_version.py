"""Version of neon_torch and of the neon release whose semantics it reproduces."""

__version__ = "0.1.0"
NEON_VERSION = "2.6.0"
