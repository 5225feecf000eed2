"""The kernel: typed records, event-time state, the pipeline runner. Imports nothing above it."""
