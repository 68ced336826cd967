"""The analytics rules and models as plain functions: no database, no HTTP."""
