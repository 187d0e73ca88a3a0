"""One date format on every page and in both languages: "Thu 03 Dec 2026"."""

DATE_FORMAT = "D d M Y"
SHORT_DATE_FORMAT = "D d M Y"
DATETIME_FORMAT = "D d M Y H:i"
SHORT_DATETIME_FORMAT = "D d M Y H:i"
