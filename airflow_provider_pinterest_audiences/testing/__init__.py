"""Helpers for testing your own DAGs against the local emulator, without Pinterest credentials.

- ``pytest_plugin``: the ``pinterest_emulator`` fixture, loaded by pytest (``pytest11`` entry point).
- ``emulator_client.PinterestEmulator``: what the fixture returns (where the emulator is, what it holds).
- ``hashing.hash_identifiers``: identifiers hashed as the upload operator hashes them, to compare members.

The provider never imports this package at run time.
"""
