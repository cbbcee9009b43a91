"""A run's leftovers on the server: finding them, and carrying on from them instead of paying again.

- `journal`: what a local run keeps on this machine (a locked file per step and fingerprint), which
  tells a run killed mid-job from one that finished or one still alive.
- `resume`: a local run's upload, job and resend parts carrying on from a killed run of the same input
  and settings.
- `orphans`: what runs of this plugin left on an account (running batches, input, resend and result
  files), and cancelling and deleting it.
- `cli`: the `orphans` command (``python -m flytekitplugins.openai orphans``).
"""
