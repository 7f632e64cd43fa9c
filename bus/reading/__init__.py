"""Reading: pull receive and history.

- :mod:`bus.reading.reader`: checks, the guard's admit, refusals read past;
- :mod:`bus.reading.inbox`: one agent's consumer, lock and receive loop;
- :mod:`bus.reading.inboxes`: the inboxes of one bus, and entries a failed hand-over kept;
- :mod:`bus.reading.held`: batches taken under a lease (``BUS_RECEIVE_BATCH``);
- :mod:`bus.reading.history`: a stream's retained messages with filters checked;
"""
