"""Fixtures of the lm_canaries tests; the fakes and helpers they share live in canary_fakes.py (a name of its own:
every test folder has a conftest, and `from conftest import` would pick whichever was imported first)."""

from canary_fakes import smoke  # noqa: F401
