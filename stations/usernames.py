"""Usernames of one alphabet: `debra-oc` written with a Cyrillic small o (U+043E) looks exactly
like the duty officer's `debra-oc` in the audit trail, the branch logins and the sign-in lists, so
a name may use the letters of one script only (Latin, Bengali, ...), with digits and @/./+/-/_ as
before."""

from __future__ import annotations

import unicodedata

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _


def scripts_of(text: str) -> set[str]:
    """The scripts of the letters in `text`, by the first word of each letter's Unicode name
    (LATIN, CYRILLIC, BENGALI, ...)."""
    return {
        unicodedata.name(char, "UNKNOWN").split()[0]
        for char in text
        if unicodedata.category(char).startswith(("L", "M"))
    }


@deconstructible
class UsernameValidator(UnicodeUsernameValidator):
    def __call__(self, value: object) -> None:
        super().__call__(value)
        if len(scripts_of(str(value))) > 1:
            raise ValidationError(
                _(
                    "Use the letters of one alphabet only: letters of two (such as Latin and "
                    "Cyrillic, which look alike) would let the name pass for someone else's."
                ),
                code="mixed_scripts",
            )
