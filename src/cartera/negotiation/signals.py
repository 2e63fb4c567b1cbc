"""Events of promises and agreements that parts above negotiation react to.

Negotiation sits below messaging (DESIGN.md §4): it never imports it. Messages to the debtor
(confirmations, reminders, a broken promise) are queued by receivers that messaging connects
(`cartera.messaging.negotiation_events`). Every signal is sent inside the service's
transaction, so a receiver's writes commit or roll back with it, and each message it queues
carries an idempotency key: sending an event twice queues nothing twice.
"""

from __future__ import annotations

from django.dispatch import Signal

promise_taken = Signal()
"""A promise (or a plan) was recorded and the debtor should get a confirmation.

Keyword arguments: `promise` (the promise, or the first part of a plan), `plan` (the
`PromisePlan` or None), `actor`.
"""

promises_broken = Signal()
"""The daily run broke promises. Keyword arguments: `creditor`, `as_of`, `promise_ids` (the
promises broken by this call), `actor`."""

agreement_activated = Signal()
"""An agreement was approved and its installments are documents now. Keyword arguments:
`agreement`, `actor`."""

installments_due = Signal()
"""Installments of active agreements fall due soon and are still owed. Keyword arguments:
`creditor`, `as_of`, `installments` (a list of `InstallmentDue`), `actor`."""
