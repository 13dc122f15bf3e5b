"""Edits that read the member's claim history (quantity across fills, DUR)."""
