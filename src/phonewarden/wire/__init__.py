"""Sans-I/O decoders: bytes in, records out. Never raise on hostile input; count anomalies instead."""
