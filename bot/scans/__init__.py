"""Scheduled scans: each asks the services what is owed, has a presenter word it, and queues it; the
scheduler (bot/scheduler.py) only wires them."""
