"""Presenters: what the bot says on its own, worded per language.

A service says what is owed (a notice: its kind, recipient, parameters, de-duplication key, when); a
presenter turns it into text and buttons in the recipient's language (``bot.i18n``) with the one payload
codec (``bot.payloads``). Handlers and scheduled scans call presenters; services never do, and never
import the translations (tools/check_layers.py holds both rules).
"""
