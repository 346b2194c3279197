"""Fixtures of the entity_memorization tests; the fakes and helpers they share live in entity_fakes.py (a name of its own:
every test folder has a conftest, and `from conftest import` would pick whichever was imported first)."""

from entity_fakes import smoke  # noqa: F401
