"""Handing delivery tasks to the broker without letting a broker outage hurt the caller."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import current_app

logger = logging.getLogger(__name__)

# A down broker should cost a request a fraction of a second, not the default retries: the
# rows are committed already and the sweeper queues whatever did not get through.
_PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}


def deliveries_queue(message_pks: Sequence[int], *, schema_name: str) -> int:
    """Queue a delivery task per message in `schema_name`; return how many reached the broker.

    Never raises for a broker problem: the messages stay pending and the sweeper picks them up.
    One broker connection serves the whole batch and is opened afresh each time, so a broker
    that came back (even empty, after a restart) gets its queue declared again.
    """
    if not message_pks:
        return 0
    queued = 0
    try:
        with current_app.connection_for_write() as broker:
            for pk in message_pks:
                # By name: tasks call services, never the other way round.
                current_app.send_task(
                    "notifications.message_deliver",
                    args=(pk,),
                    headers={"_schema_name": schema_name},
                    connection=broker,
                    retry=True,
                    retry_policy=_PUBLISH_RETRY,
                )
                queued += 1
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper queues them
        logger.warning(
            "Broker unavailable (%s): %d of %d messages in %s left for the sweeper",
            exc,
            len(message_pks) - queued,
            len(message_pks),
            schema_name,
        )
    return queued
