"""Settings, all from the environment (see README "Configuration"), one module per concern.

Each module reads its own variables and refuses bad values with a message naming the variable; a module that builds
on another's settings (the mode, the data directory) imports them from it by name. They are star-imported here, each
after those it builds on, so that ``DJANGO_SETTINGS_MODULE=alchemiscale_portal.settings`` sees them all. A setting is
defined in one module only (tests/test_settings_layout.py): a second definition would silently win.
"""

# Not alphabetical: base first, and when several values are bad, the first reported is the first in this order.
# isort: off
from .base import *  # noqa: F403
from .store import *  # noqa: F403
from .broker import *  # noqa: F403
from .operations import *  # noqa: F403
from .security import *  # noqa: F403
from .oidc import *  # noqa: F403
from .passkeys import *  # noqa: F403
from .database import *  # noqa: F403
from .django import *  # noqa: F403
from .unattended import *  # noqa: F403
from .compute import *  # noqa: F403
# isort: on
