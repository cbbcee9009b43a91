"""A batch's result files: what each line says, and an account of every request.

- `result_lines`: one result line's kind (answer, failure worth sending again, final error) and its error.
- `result_index`: where each request's result line is, for one part.
- `reconcile`: every request of a batch accounted for: succeeded, failed, or in neither file.
- `request_retry`: a round's results sorted into kept answers, final errors and requests to send again.
"""
