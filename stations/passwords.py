"""Django's minimum-length rule for passwords, its number in the reader's numerals as every count
on a page is ("অন্তত ১০টি অক্ষর" on a Bengali page)."""

from __future__ import annotations

from django.contrib.auth import password_validation

from escort_portal.formats import native_digits


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return native_digits(super().get_error_message())

    def get_help_text(self) -> str:
        return native_digits(super().get_help_text())
