"""Admin pages of messaging, one module per concern; Django imports this package."""

from cartera.messaging.admin import (
    letters,  # noqa: F401
    outbox,  # noqa: F401
    rules,  # noqa: F401
    templates,  # noqa: F401
)
