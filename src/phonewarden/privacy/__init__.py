"""Privacy monitor: where each device sends data, in which country, and which identifiers leave."""
