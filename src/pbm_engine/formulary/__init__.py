"""formulary."""
