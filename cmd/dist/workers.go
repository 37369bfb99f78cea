package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/distmr/dist/proto"
	"github.com/distmr/dist/registry"
)

func workersCommand() *cli.Command {
	return &cli.Command{
		Name:      "workers",
		Usage:     "list the workers registered in ZooKeeper",
		UsageText: "dist workers --zk 127.0.0.1:2181",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "zk", EnvVars: []string{"DIST_ZK"}, Required: true, Usage: "ZooKeeper `HOSTS[/chroot]`"},
			secretFlag(),
		}, tlsFlags()...),
		Action: workersAction,
	}
}

func workersAction(c *cli.Context) error {
	secret, err := readSecret(c)
	if err != nil {
		return usageErr(err)
	}
	_, clientTLS, err := loadTLS(c)
	if err != nil {
		return usageErr(err)
	}
	ctx, cancel := context.WithTimeout(c.Context, 15*time.Second)
	defer cancel()
	zk, err := registry.NewZK(ctx, c.String("zk"), registry.ZKOptions{})
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	defer zk.Close()
	ws, err := zk.Workers(ctx)
	if err != nil {
		return cli.Exit(err.Error(), exitJobFailed)
	}
	running := runningTasks(ctx, ws, proto.Options{Secret: secret, TLS: clientTLS})
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSLOTS\tRUNNING\tVERSION\tGO\tOS/ARCH\tUPTIME\tFLAGS")
	var insecure []string
	for i, w := range ws {
		flags := strings.Join(w.Flags, ",")
		if slices.Contains(w.Flags, "insecure") {
			insecure = append(insecure, w.ID)
			flags = strings.Replace(flags, "insecure", "INSECURE", 1)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s/%s\t%s\t%s\n", w.ID, w.Addr, w.Slots, running[i],
			w.Version, w.GoVersion, w.OS, w.Arch, time.Since(w.Started).Round(time.Second), flags)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(insecure) > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d worker(s) run without a secret or TLS: anyone who reaches them can run programs there: %s\n",
			len(insecure), strings.Join(insecure, ", "))
	}
	return nil
}

// runningTasks asks each worker how many tasks it runs; "?" where it
// cannot be reached.
func runningTasks(ctx context.Context, ws []registry.WorkerInfo, o proto.Options) []string {
	out := make([]string, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = "?"
			ictx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			s, err := proto.Dial(ictx, w.Addr, o)
			if err != nil {
				return
			}
			defer s.Close()
			var r proto.InfoReply
			if s.Call(ictx, proto.OpInfo, "", &proto.InfoRequest{}, &r) == nil {
				out[i] = fmt.Sprint(r.Running)
			}
		}()
	}
	wg.Wait()
	return out
}
