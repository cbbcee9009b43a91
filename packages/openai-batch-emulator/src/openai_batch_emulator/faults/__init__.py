"""Failures made on purpose, to test a client against what the real API can do.

- `injector`: HTTP faults: the next calls to a route answer 429/5xx or drop the connection.
- `request_failures`: chosen batch requests fail (an error line, or a corrupt one), counted per attempt.
"""
