"""One exception type for every user-facing error: the CLI prints it on one line and exits 2."""


class RoteError(Exception):
    """Bad input or an unusable results directory; the message is one line meant for the user."""


class ConfigError(RoteError, ValueError):
    """An impossible or out-of-range configuration value (never clamped silently)."""
