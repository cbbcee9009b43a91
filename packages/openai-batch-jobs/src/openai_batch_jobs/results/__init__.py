"""A batch's result files: what each line says, and an account of every request.

- `result_lines`: one result line's kind (answer, failure worth sending again, final error, unreadable)
  and its error: the one rule every reader of result files counts by.
- `counts`: what became of a set of requests (`RequestCounts`), and the missing-requests report.
- `result_index`: where each request's result line is, for one part; what a request no line answers counts as.
- `reconcile`: every request of a batch accounted for: succeeded, failed, or in neither file.
- `batch_results`: one finished batch's result files downloaded and accounted for (the seed's download).
- `resend`: a round's results sorted into kept answers, final errors and requests to send again.
- `job_result`: the job step's result and a finished round's record, as dataclasses a framework carries.
- `part_files`: the one parallel download of a job's part files, in part order; a round's part.
- `job_collection`: a job's parts joined into one output and one error file, each part accounted for.
- `rounds`: one round of the collect step: sort, send again or end the job with its table and summary.
- `kept_answers`: the answers of a job that ended without every request answered, downloaded.
- `missing`: the one report of requests that no result file answers.
"""
