"""Tests of begasist-channels-whatsapp."""
