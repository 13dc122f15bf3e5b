"""Tools for plan administrators: plan-change impact, scenarios, formulary files."""
