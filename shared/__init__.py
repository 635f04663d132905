"""Schemas, errors, settings, database, context assembly, extraction and progress publishing."""
