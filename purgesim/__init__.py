"""purgesim: an agent-based model of the machine of political purges."""

__version__ = "0.1.0"
