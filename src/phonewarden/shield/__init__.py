"""SIP shield: spot scans, brute force, enumeration, floods and toll-fraud probes; block the source."""
