"""Support for the hostile-input suite (tests/hostile/test_input.py)."""
