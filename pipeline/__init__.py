"""News tone and stance pipeline: ingest, segment, score, track."""

__version__ = "0.1.0"
