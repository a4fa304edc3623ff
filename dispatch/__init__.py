"""Linli's dispatch domain: pure Python + numpy/scipy, no frameworks, no clock of its own."""
