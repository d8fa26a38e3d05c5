"""kmeet-bridge: turns email into planned kMeet conferences."""

__version__ = "0.1.0"
