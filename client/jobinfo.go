package client

// ID is the job's id ("j20260102-150405-1a2b3c4d"), chosen by Prepare: the
// id the workers, the logs and the summary of Run use. Run a Job once.
func (j *Job) ID() string { return j.id }

// Maps is the number of map tasks: one per input split, or Config.Tasks.
func (j *Job) Maps() int { return len(j.splits) }

// Reduces is the number of reduce tasks; 0 for a map-only job.
func (j *Job) Reduces() int { return j.cfg.Reduces }
