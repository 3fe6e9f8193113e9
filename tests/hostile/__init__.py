"""Support for the hostile-input suite (tests/test_hostile_input.py)."""
