"""The commercial benefit: plan design, the cost-share waterfall, federal limits."""
