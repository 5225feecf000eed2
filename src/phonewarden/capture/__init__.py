"""The only code that owns files and sockets for traffic: pcap replay, live capture, HEP listener."""
