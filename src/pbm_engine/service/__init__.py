"""The HTTP service for member portals, phone systems and pharmacies (FastAPI + uvicorn).

Install with the ``service`` extra and run ``pbm serve --book BOOK --db DB``; see
:func:`pbm_engine.service.app.create_app` and docs/portal-and-ivr.md.
"""
