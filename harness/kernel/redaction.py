"""Credentials never reach a message, a manifest or a log: strip them from URLs and text."""

from __future__ import annotations

import re

__all__ = ["redact", "strip_credentials"]

_USERINFO = re.compile(r"^(?P<scheme>[a-z+]+://)(?P<userinfo>[^@/]*)@", re.IGNORECASE)


def strip_credentials(url: str) -> str:
    """Remove credentials from a URL (``https://user:token@host`` -> ``https://host``).

    For ssh URLs the user name is kept (it is an account, like ``git@``), only a password
    goes; for http(s) the whole user info goes, because tokens are often passed as the user.
    """
    match = _USERINFO.match(url)
    if not match:
        return url
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    if scheme.lower().startswith("ssh") and userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{scheme}{user}@{url[match.end() :]}"
    return f"{scheme}{url[match.end() :]}"


def redact(text: str) -> str:
    """Strip credentials from every URL inside free text (git's stderr, error messages)."""
    return re.sub(
        r"(?P<scheme>[a-z+]+://)[^@/\s]*@",
        lambda m: strip_credentials(m.group(0) + "x")[:-1],
        text,
        flags=re.IGNORECASE,
    )
