"""News tone and stance pipeline: ingest, segment, score, track."""

import time

__version__ = "0.1.0"
STARTED = time.perf_counter()  # when the package was first imported: the process's start, near enough
