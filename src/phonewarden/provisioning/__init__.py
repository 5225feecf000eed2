"""Secure provisioning: phones get their credentials, nobody else does."""
