"""cli"""

from helpers.cli.main import main

__all__ = ["main"]
