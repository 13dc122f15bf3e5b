"""Members, families, coverage periods and prior authorizations."""
