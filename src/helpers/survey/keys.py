"""The organiser's key: who may see the counts and download the answers.

There is always a key. EXCEPTIONS_ORGANISER_KEY sets it; without it the server
draws a random one at start and prints it with the organiser's URL, so the
organiser page is never open to whoever finds the server's address.

The key is accepted once in the URL (`/organiser?key=...`, the link printed at
start). The server then sets a cookie and redirects to the same page without
the key, so the key leaves the address bar, the browser history and any
screenshot of them. The cookie holds a value derived from the key (HMAC), not
the key itself; it is HttpOnly (no script reads it) and SameSite=Strict (no
other site's page can make the organiser's browser send it, which is what keeps
the publish button safe from cross-site posts). Every comparison is in constant
time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from helpers.errors import UserError

ENV = "EXCEPTIONS_ORGANISER_KEY"
COOKIE = "survey_organiser"
MIN_LENGTH = 8


class OrganiserKey:
    def __init__(self, key: str):
        if len(key) < MIN_LENGTH:
            raise UserError(f"{ENV}: the organiser key needs at least {MIN_LENGTH} characters "
                            "(or leave it unset for a random one)")
        self._key = key.encode()

    @classmethod
    def from_env(cls) -> tuple[OrganiserKey, str, bool]:
        """(the key, its text, whether it was generated here)."""
        given = os.environ.get(ENV, "").strip()
        text = given or secrets.token_urlsafe(16)
        return cls(text), text, not given

    def matches(self, text: object) -> bool:
        return isinstance(text, str) and secrets.compare_digest(text.encode(), self._key)

    def _derived(self, purpose: str) -> str:
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).hexdigest()

    @property
    def cookie_value(self) -> str:
        return self._derived("organiser cookie")

    def cookie_ok(self, value: object) -> bool:
        return isinstance(value, str) and secrets.compare_digest(value.encode(), self.cookie_value.encode())

    @property
    def form_token(self) -> str:
        """A hidden field of the organiser's forms (a second guard beside SameSite)."""
        return self._derived("organiser form")

    def form_ok(self, value: object) -> bool:
        return isinstance(value, str) and secrets.compare_digest(value.encode(), self.form_token.encode())
