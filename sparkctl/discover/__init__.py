"""Cabling discovery: what is really plugged where, and how it differs from the declaration."""
