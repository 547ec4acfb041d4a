"""Conformance tests of the built-in Mix emulator, over real loopback HTTP."""
