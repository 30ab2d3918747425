"""Tests of begasist-channels-email."""
