package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/client"
	"github.com/distmr/dist/registry"
	"github.com/distmr/dist/worker/master"
)

// detachTimeout bounds a submit: listing workers and jobs, shipping the
// programs, the worker's few ZooKeeper writes.
const detachTimeout = 2 * time.Minute

// checkDetach refuses --detach where a detached job cannot work, before
// anything is hashed or listed.
func checkDetach(c *cli.Context, cfg client.Config) error {
	switch {
	case c.IsSet("local"):
		return errors.New("--detach: a --local cluster lives in this process: a detached job would die with it; drop --detach or use --zk")
	case !c.IsSet("zk"):
		return errors.New("--detach needs --zk: a detached job's master runs on a worker that registers in ZooKeeper")
	case c.IsSet("report"), c.IsSet("ui"):
		return errors.New("--detach: --report and --ui watch a job this process runs; follow a detached job with dist status or dist wait")
	}
	if err := oneCluster(c); err != nil {
		return err
	}
	return client.Detachable(cfg)
}

// detach hands the prepared job to a worker that hosts job masters and
// prints its id.
func detach(c *cli.Context, job *client.Job, zk *zkJob) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(c.Context, detachTimeout)
	defer cancel()
	z, err := zk.session(ctx)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	workers, err := z.Workers(ctx)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	running, err := runningMasters(ctx, z)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	sub, err := job.Detach(ctx, workers, running, detachArgs(c), userName())
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	if c.Bool("quiet") {
		fmt.Println(sub.Job)
		return nil
	}
	fmt.Fprintf(os.Stderr, "job %s submitted to %s in %v\nfollow it: dist wait %s --zk %s\n",
		sub.Job, sub.Master, time.Since(start).Round(time.Millisecond), sub.Job, c.String("zk"))
	return nil
}

// runningMasters counts the jobs not ended by the worker whose master
// runs them.
func runningMasters(ctx context.Context, z *registry.ZK) (map[string]int, error) {
	jobs, err := z.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	n := map[string]int{}
	for _, j := range jobs {
		if !j.State.Ended() && j.MasterID != "" {
			n[j.MasterID]++
		}
	}
	return n, nil
}

// detachArgs repeats the job flags the user set (on the command line or
// in DIST_ variables) as --name=value for the job's master.
func detachArgs(c *cli.Context) []string {
	var args []string
	for _, name := range master.DetachableFlags {
		if !c.IsSet(name) {
			continue
		}
		switch v := c.Value(name).(type) {
		case cli.StringSlice, *cli.StringSlice, []string:
			for _, s := range c.StringSlice(name) {
				args = append(args, "--"+name+"="+s)
			}
		default:
			args = append(args, fmt.Sprintf("--%s=%v", name, v))
		}
	}
	return args
}

// userName is who submits, for the job's record.
func userName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}
