"""Staff accounts: two-factor login (django-otp TOTP + recovery codes), step-up before destructive actions, idle
sessions, security headers, and the audit list of enrolments, resets and failed second factors."""
