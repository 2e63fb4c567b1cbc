"""Events of the daily run that the parts above the strategy react to (DESIGN §4: the strategy
never imports them)."""

from __future__ import annotations

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent once a day's run for a creditor is committed (never for a dry run), with `creditor`,
# `as_of` and `actor`. Reports write the day's snapshots from it.
run_committed = Signal()


def run_committed_send(**kwargs: object) -> None:
    """Tell every receiver; one that fails is logged and leaves the run and the others alone."""
    for receiver, result in run_committed.send_robust(sender=None, **kwargs):
        if isinstance(result, Exception):
            logger.error(
                "after the daily run: %s failed",
                getattr(receiver, "__qualname__", receiver),
                exc_info=result,
            )
