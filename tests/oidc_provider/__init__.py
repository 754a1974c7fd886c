"""A real OpenID Connect provider for the single sign-on tests: a small Django project around django-oauth-toolkit
(OIDC on, RS256 with a key made at test time), run as a subprocess on loopback by ``tests/oidc_fixtures.py``.

It is the provider under test's control: its people and their claims (groups, e-mail and whether it is verified,
amr) are read from a JSON *directory* file at every token, so a test changes someone's groups by rewriting it. The
same file can make the provider misbehave on purpose (another ``issuer``, another ``audience``) to show the portal
refusing such tokens.
"""
