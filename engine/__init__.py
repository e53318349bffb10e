"""lprr run-time: capture, landmarks, APEM, inference backends, post-processing and sinks.

Nothing in this package imports torch at import time.
"""
