"""Tests of the first-party channel packages, one folder per channel."""
