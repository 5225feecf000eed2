"""Password strength for admin and SIP secrets: short, common or trivially patterned is weak.

No dictionary download: a short list of what phone installers actually type (vendor defaults,
keyboard walks, extension-like digits). Length and variety rules catch the rest.
"""

from __future__ import annotations

MIN_LENGTH = 10
COMMON = frozenset(
    {
        "admin",
        "administrator",
        "password",
        "passwort",
        "pass",
        "user",
        "guest",
        "root",
        "test",
        "snom",
        "yealink",
        "polycom",
        "grandstream",
        "fanvil",
        "cisco",
        "default",
        "changeme",
        "secret",
        "0000",
        "1111",
        "1234",
        "12345",
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234567890",
        "456",
        "123",
        "9486",
        "qwerty",
        "qwertz",
        "asdf",
        "letmein",
        "welcome",
        "voip",
        "sip",
        "phone",
        "telefon",
        "admin123",
        "admin1234",
        "password1",
        "passw0rd",
        "p@ssw0rd",
        "abc123",
    }
)


def weakness(password: str, username: str | None = None) -> str | None:
    """Why `password` is weak, or None when it passes. Never echoes the password itself."""
    if not password:
        return "empty"
    lowered = password.lower()
    if lowered in COMMON:
        return "a well-known default or common password"
    if username and lowered in (username.lower(), username.lower()[::-1]):
        return "the same as the user name"
    if len(set(password)) <= 2:
        return "made of one or two repeated characters"
    if len(password) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters ({len(password)})"
    if password.isdigit() and len(password) < 16:
        return "digits only and shorter than 16"
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 2:
        return "only one kind of character (mix letters, digits or symbols)"
    return None
