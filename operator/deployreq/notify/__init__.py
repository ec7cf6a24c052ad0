"""Notifications of finished requests to a webhook (generic JSON or Slack-compatible)."""

from deployreq.notify.dispatcher import Dispatcher
from deployreq.notify.event import Event, Notifier
from deployreq.notify.flags import NotifySettings, add_notify_flags, load_notifier, notify_settings_from
from deployreq.notify.slack import SlackNotifier
from deployreq.notify.webhook import WebhookNotifier

__all__ = [
    "Dispatcher",
    "Event",
    "Notifier",
    "NotifySettings",
    "SlackNotifier",
    "WebhookNotifier",
    "add_notify_flags",
    "load_notifier",
    "notify_settings_from",
]
