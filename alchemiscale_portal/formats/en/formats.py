"""One way to write a time on every admin page, the zone included (the portal runs in UTC): 2026-12-06 21:54:03 UTC.

Django's English formats ("Dec. 6, 2026, 9:54 p.m.") would sit beside the portal's own ISO-like times otherwise;
``FORMAT_MODULE_PATH`` points here so these replace them for every English locale.
"""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
