"""The workflow's refusals: a step the rules do not allow, with a message a worker can act on."""

from django.core.exceptions import ValidationError


class TicketError(ValidationError):
    """A move the workflow does not allow, with a message a worker can act on."""


class StaleTicket(TicketError):
    pass
