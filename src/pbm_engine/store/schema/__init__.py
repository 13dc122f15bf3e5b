"""Versioned migrations of the SQLite store schema.

Each :class:`Migration` is applied once, in order, inside one ``BEGIN IMMEDIATE`` transaction
that also records it in ``schema_version``.  Rules: never edit a released migration, only append
a new one; a migration must keep every existing row readable.  The statements use portable SQL
(``INTEGER`` cents, ISO date text, ``ON CONFLICT`` upserts, partial indexes) so a PostgreSQL
store can carry the same numbered list with its own dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LATEST", "MIGRATIONS", "Migration"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version number, a description and the SQL statements."""

    version: int
    description: str
    statements: tuple[str, ...]


_TOTALS = """
    deductible INTEGER NOT NULL DEFAULT 0,
    oop INTEGER NOT NULL DEFAULT 0,
    plan_paid INTEGER NOT NULL DEFAULT 0,
    troop INTEGER NOT NULL DEFAULT 0,
    gross_drug_cost INTEGER NOT NULL DEFAULT 0"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "accumulators, ledger and schema_version", (
        """CREATE TABLE schema_version (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
        f"""CREATE TABLE accumulators (
            plan_id TEXT NOT NULL,
            year_start TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('M', 'F')),
            owner_id TEXT NOT NULL,{_TOTALS},
            PRIMARY KEY (plan_id, year_start, kind, owner_id))""",
        """CREATE TABLE ledger (
            entry_id INTEGER PRIMARY KEY,
            pharmacy_id TEXT NOT NULL,
            rx_number TEXT NOT NULL,
            fill_number INTEGER NOT NULL,
            date_of_service TEXT NOT NULL,
            plan_id TEXT NOT NULL,
            year_start TEXT NOT NULL,
            member_id TEXT NOT NULL,
            family_id TEXT NOT NULL,
            d_deductible INTEGER NOT NULL,
            d_oop INTEGER NOT NULL,
            d_plan_paid INTEGER NOT NULL,
            d_troop INTEGER NOT NULL,
            d_gross_drug_cost INTEGER NOT NULL,
            fill_member_id TEXT NOT NULL,
            fill_date TEXT NOT NULL,
            fill_ndc TEXT NOT NULL,
            fill_therapy_key TEXT NOT NULL,
            fill_groups TEXT NOT NULL,
            fill_quantity INTEGER NOT NULL,
            fill_days_supply INTEGER NOT NULL,
            fill_rx_number TEXT NOT NULL,
            fill_fill_number INTEGER NOT NULL,
            fill_pharmacy_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'reversed')),
            reversed_on TEXT,
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
        # coverage: JSON list of [start, end or null, terminated 0/1, plan_id] (store.codec)
        """CREATE TABLE members (
            cardholder_id TEXT NOT NULL,
            person_code TEXT NOT NULL,
            member_id TEXT NOT NULL UNIQUE,
            family_id TEXT NOT NULL,
            plan_id TEXT NOT NULL,
            date_of_birth TEXT,
            gender INTEGER NOT NULL DEFAULT 0,
            relationship TEXT NOT NULL DEFAULT '',
            lis_level TEXT,
            first_name TEXT NOT NULL DEFAULT '',
            last_name TEXT NOT NULL DEFAULT '',
            coverage TEXT NOT NULL,
            PRIMARY KEY (cardholder_id, person_code))""",
        "CREATE INDEX members_family ON members (family_id, person_code)",
        """CREATE TABLE prior_auths (
            member_id TEXT NOT NULL,
            number TEXT NOT NULL,
            start_date TEXT NOT NULL,
            end_date TEXT NOT NULL,
            ndc TEXT,
            te_group TEXT,
            drug_group TEXT,
            rxcui TEXT,
            bypasses TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (member_id, number))""",
        # one claim's history window: entry ids straight from the index (decoded fills cached)
        # (status and fill_ndc are columns too so the index covers the query: no table reads)
        """CREATE INDEX ledger_member_window ON ledger (member_id, fill_date, status, fill_ndc)
            WHERE status = 'active' AND fill_ndc != ''""",
        # the portal's "as of": one family's entries of one plan year after a date
        """CREATE INDEX ledger_family_year
            ON ledger (family_id, plan_id, year_start, date_of_service)""",
    )),
)
"""The schema migrations, oldest first."""

LATEST = MIGRATIONS[-1].version
"""The schema version of the newest migration."""
