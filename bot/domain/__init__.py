"""Types and pure rules of the domain: appeal statuses and their transitions, roles and what each may do.

Nothing here imports storage, a service, a handler or a translation: the rules are plain values
and functions that every layer above may use.
"""
