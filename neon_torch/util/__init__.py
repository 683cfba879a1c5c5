"""neon's ``neon.util`` helpers (``persist``)."""
