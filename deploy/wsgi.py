"""The WSGI application of the portal's Docker image: Django, with the admin's static files served by WhiteNoise.

Kept out of the project's settings so `make run` and the tests are unchanged; only gunicorn in the image uses it.
"""

from django.conf import settings
from whitenoise import WhiteNoise

from alchemiscale_portal.wsgi import application as django_application

application = WhiteNoise(django_application, root=str(settings.STATIC_ROOT), prefix=settings.STATIC_URL)
