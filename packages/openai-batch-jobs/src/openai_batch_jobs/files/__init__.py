"""The OpenAI Files API as the steps use it: request files up, result files down, leftovers deleted.

- `uploads`: uploading request files (a split input's parts side by side), deleting them, saying what failed.
- `download`: downloading a file, streamed, fetched again when its body breaks off.
- `delete`: deleting files on the server, best effort within a deadline.
"""
