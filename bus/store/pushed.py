"""What the store steps that push receipts (issue 17) are given and answer: a
:class:`ReceiptDraft` in, :class:`Pushed` out; a skip's :class:`SkipRun` s and
:class:`Skipped`. See ``docs/decisions/0004-pushed-receipts.md``."""

from __future__ import annotations

from typing import NamedTuple

from bus.channels import Retention


class ReceiptDraft(NamedTuple):
    """The receipt an advance may push to the committed message's sender: appended to the
    sender's inbox in the advance's own step, if the sender consumes receipts."""

    #: The sender of the message committed (whose opt-in the step reads).
    sender: str
    #: The receipt message's sender (the worker's identity with auth on, else ``bus``).
    by: str
    #: The receipt message's id and JSON (encoded without ``seq``); ``body`` ``None``: the
    #: caller holds none yet (it does not know the sender consumes them): if the sender does,
    #: the advance moves nothing and answers ``Pushed(wanted=True)``.
    message_id: str
    body: str | None
    #: Append time (epoch ms), the inbox's retention, and whether deliveries are coalesced.
    now_ms: int
    retention: Retention
    coalesce: bool = False
    #: A pull hand-over's receipt (:meth:`~bus.store.contracts.leases.LeaseStore.take`,
    #: :meth:`~bus.store.contracts.log.LogStore.claim_any`): the seq of the message it is for
    #: (0: an advance's, for the committed message), and its stream (``take`` knows it). There,
    #: a ``body`` of ``""`` says the reader pushes none for it (it could not sign one).
    of_seq: int = 0
    of_stream: str = ""


class Pushed(NamedTuple):
    """What an advance did with its :class:`ReceiptDraft`."""

    #: The sender consumes receipts and the draft had no body: nothing moved (call again).
    wanted: bool = False
    #: The receipt's seq in the sender's inbox (0: not appended: the sender consumes none).
    seq: int = 0
    #: Whether to publish the delivery that wakes the sender (with coalesced deliveries, not
    #: when one is outstanding on its inbox).
    wake: bool = False


class SkipRun(NamedTuple):
    """The messages of one sender that one skip trimmed before a member read them, whose
    sender consumes receipts: what its ``skipped`` receipt stands for."""

    sender: str
    #: The first one's id and seq, the last one's seq, and how many of the sender's they are.
    message_id: str
    first: int
    last: int
    messages: int


class Skipped(NamedTuple):
    """What :meth:`~bus.store.contracts.receipts.ReceiptStore.note_skipped` did."""

    #: Given no receipts: the runs of senders that consume receipts (nothing was noted: call
    #: again with one draft per run, in this order).
    runs: tuple[SkipRun, ...] = ()
    #: Given receipts: what became of each, in order.
    pushed: tuple[Pushed, ...] = ()
