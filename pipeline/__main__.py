"""`python -m pipeline` entry point."""

from pipeline.cli import entry

entry()
