"""pbm_engine."""
