"""Rules of the customer service, as plain functions without I/O."""
