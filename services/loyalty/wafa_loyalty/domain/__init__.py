"""The loyalty rules as plain functions: no database, no HTTP."""
