"""Joint Meeting Miner: pure pipeline stages (no Prefect, no config file reading)."""

__version__ = "0.1.0"
