"""Webhooks: Standard Webhooks signing, subscriptions, delivery worker, inbound verification."""
