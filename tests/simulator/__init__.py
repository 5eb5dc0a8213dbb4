"""Tests of the simulator, written from the vendor's documents."""
