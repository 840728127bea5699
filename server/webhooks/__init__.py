"""Webhooks: the payload a delivery posts (payload.py) and the background
loop that sends the outbox (sender.py). The rows and their SQL are the
store's (store/webhooks.py, the outbox trigger of migration 0009); admins
manage endpoints through the service (service/webhooks.py)."""
