"""Read-only member views for the portal and the IVR."""
