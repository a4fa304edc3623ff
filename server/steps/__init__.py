"""The steps that several use cases share: access checks, audit, outbox events, status transitions,
offer waves, visits handed back, the provider directory and places. Nothing here commits or imports
a use case (`server.services`); import-linter and tests/test_layering.py hold both rules."""
