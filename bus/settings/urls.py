"""URLs as bus shows and reads them: passwords masked, schemes found.

Which schemes bus accepts, and what each means, is :mod:`bus.settings.transports`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<secret>[^@\s]+)@")


def mask(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``**`` (as kombu does)."""
    return _PASSWORD.sub(lambda match: f"{match['head']}**@", text)


def scheme_of(url: str) -> str:
    """The URL's scheme, lower-cased (``''`` if there is none)."""
    return urlsplit(url).scheme.lower() if "://" in url else ""
