package proto

import "context"

// TaskLogs asks the worker for the logs of job's task ("" for every
// task, "master" for the job master's) and reads every reply frame.
func (s *Session) TaskLogs(ctx context.Context, job, task string) ([]AttemptLog, error) {
	st, err := s.Open(ctx, OpTaskLogs, job, &TaskLogsRequest{Job: job, Task: task})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var logs []AttemptLog
	for {
		var r TaskLogsReply
		if err := s.ReadReply(ctx, st, OpTaskLogs, &r); err != nil {
			return nil, err
		}
		logs = append(logs, r.Logs...)
		if !r.More {
			return logs, nil
		}
	}
}
