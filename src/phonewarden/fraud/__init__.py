"""Fraud guard: unusual usage in call records and live calls -> alarm -> restrict the line."""
