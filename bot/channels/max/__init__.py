"""MAX (max.ru), the national messenger: a channel plug-in over the MAX Bot API (dev.max.ru)."""
