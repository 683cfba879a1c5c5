"""Test-only helpers (not part of the neon_torch package)."""
