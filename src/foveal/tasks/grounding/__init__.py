"""Grounding: find what a description names in a picture (a box, a button) or what changed between two."""
