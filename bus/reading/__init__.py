"""Reading: pull receive, history, and what a sender learns of its messages.

- :mod:`bus.reading.reader`: checks, the guard's admit, refusals read past;
- :mod:`bus.reading.inbox`: one agent's consumer, lock and receive loop (the broker side);
- :mod:`bus.reading.log_claims`: an inbox's claims straight from the log (streams behind,
  deliveries that never came, coalesced ones read until drained);
- :mod:`bus.reading.inboxes`: the inboxes of one bus, and entries a failed hand-over kept;
- :mod:`bus.reading.held`: batches taken under a lease (``BUS_RECEIVE_BATCH``);
- :mod:`bus.reading.replays`: copies of a message, refused by every consumer;
- :mod:`bus.reading.history`: a stream's retained messages with filters checked;
- :mod:`bus.reading.lineage`: ``trace``, a message's causation tree;
- :mod:`bus.reading.status`: a message's delivery status per member, from the store;
- :mod:`bus.reading.receipt_drafts`: which pushed receipts this process drafts, and when;
- :mod:`bus.reading.receipt_messages`: one receipt message, built (and signed with auth on);
- :mod:`bus.reading.receipt_about`: what a receipt says of the message it is about.
"""
