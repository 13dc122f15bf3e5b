"""The store schema in PostgreSQL's dialect: the same numbered migrations as the SQLite list
(:data:`pbm_engine.store.schema.MIGRATIONS`), with native types (``BIGINT`` cents, ``DATE``,
an identity ``entry_id``).  Same rules: never edit a released migration, only append."""

from __future__ import annotations

from pbm_engine.store.schema import Migration

__all__ = ["LATEST", "MIGRATIONS"]

_TOTALS = """
    deductible BIGINT NOT NULL DEFAULT 0,
    oop BIGINT NOT NULL DEFAULT 0,
    plan_paid BIGINT NOT NULL DEFAULT 0,
    troop BIGINT NOT NULL DEFAULT 0,
    gross_drug_cost BIGINT NOT NULL DEFAULT 0"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "accumulators, ledger and schema_version", (
        """CREATE TABLE schema_version (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now())""",
        f"""CREATE TABLE accumulators (
            plan_id TEXT NOT NULL,
            year_start DATE NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('M', 'F')),
            owner_id TEXT NOT NULL,{_TOTALS},
            PRIMARY KEY (plan_id, year_start, kind, owner_id))""",
        """CREATE TABLE ledger (
            entry_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            pharmacy_id TEXT NOT NULL,
            rx_number TEXT NOT NULL,
            fill_number INTEGER NOT NULL,
            date_of_service DATE NOT NULL,
            plan_id TEXT NOT NULL,
            year_start DATE NOT NULL,
            member_id TEXT NOT NULL,
            family_id TEXT NOT NULL,
            d_deductible BIGINT NOT NULL,
            d_oop BIGINT NOT NULL,
            d_plan_paid BIGINT NOT NULL,
            d_troop BIGINT NOT NULL,
            d_gross_drug_cost BIGINT NOT NULL,
            fill_member_id TEXT NOT NULL,
            fill_date DATE NOT NULL,
            fill_ndc TEXT NOT NULL,
            fill_therapy_key TEXT NOT NULL,
            fill_groups TEXT NOT NULL,
            fill_quantity BIGINT NOT NULL,
            fill_days_supply INTEGER NOT NULL,
            fill_rx_number TEXT NOT NULL,
            fill_fill_number INTEGER NOT NULL,
            fill_pharmacy_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'reversed')),
            reversed_on DATE,
            result TEXT NOT NULL)""",
        """CREATE INDEX ledger_key
            ON ledger (pharmacy_id, rx_number, fill_number, date_of_service)""",
        "CREATE INDEX ledger_member ON ledger (member_id, fill_date)",
    )),
    Migration(2, "at most one active ledger entry per claim key", (
        """CREATE UNIQUE INDEX ledger_one_active
            ON ledger (pharmacy_id, rx_number, fill_number, date_of_service)
            WHERE status = 'active'""",
    )),
    Migration(3, "members, coverage and prior authorizations; history and family indexes", (
        """CREATE TABLE members (
            cardholder_id TEXT NOT NULL,
            person_code TEXT NOT NULL,
            member_id TEXT NOT NULL UNIQUE,
            family_id TEXT NOT NULL,
            plan_id TEXT NOT NULL,
            date_of_birth DATE,
            gender INTEGER NOT NULL DEFAULT 0,
            relationship TEXT NOT NULL DEFAULT '',
            lis_level TEXT,
            first_name TEXT NOT NULL DEFAULT '',
            last_name TEXT NOT NULL DEFAULT '',
            coverage TEXT NOT NULL,
            PRIMARY KEY (cardholder_id, person_code))""",
        "CREATE INDEX members_family ON members (family_id, person_code)",
        """CREATE TABLE prior_auths (
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            member_id TEXT NOT NULL,
            number TEXT NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE NOT NULL,
            ndc TEXT,
            te_group TEXT,
            drug_group TEXT,
            rxcui TEXT,
            bypasses TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (member_id, number))""",
        """CREATE INDEX ledger_member_window ON ledger (member_id, fill_date) INCLUDE (entry_id)
            WHERE status = 'active' AND fill_ndc <> ''""",
        """CREATE INDEX ledger_family_year
            ON ledger (family_id, plan_id, year_start, date_of_service)""",
    )),
)
"""The PostgreSQL schema, one migration per version, applied in order (the same versions as
SQLite's)."""

LATEST = MIGRATIONS[-1].version
"""The schema version this code writes."""
