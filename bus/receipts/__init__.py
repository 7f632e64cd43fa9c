"""Delivery receipts: what became of a message, for each member it was stored for.

:mod:`bus.receipts.model` holds the models :meth:`bus.Bus.status` returns
(:class:`DeliveryStatus`, one :class:`MemberStatus` per member, in a :class:`DeliveryState`);
they are primitives, so the API declaration (:mod:`bus.api`) can name them. How they are
derived from the store is :mod:`bus.reading.status`. :mod:`bus.receipts.event` holds the
pushed :class:`Receipt` a consuming sender gets as a message of type ``receipt``.
"""

from bus.receipts.event import RECEIPT_MEDIA_TYPE, RECEIPT_TYPE, Receipt, receipt_of
from bus.receipts.model import FINAL_STATES, DeliveryState, DeliveryStatus, MemberStatus

__all__ = [
    "FINAL_STATES",
    "RECEIPT_MEDIA_TYPE",
    "RECEIPT_TYPE",
    "DeliveryState",
    "DeliveryStatus",
    "MemberStatus",
    "Receipt",
    "receipt_of",
]
