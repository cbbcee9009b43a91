"""The Files API and the data directory everything is kept in.

- `api`: the `/v1/files` routes: streamed uploads and downloads, listing, delete.
- `store`: the data directory, file records and contents, ids, atomic JSON documents.
"""
