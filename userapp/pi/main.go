// Command pi estimates π by Monte Carlo, in a job with no input: each map
// draws samples=N points in the unit square and counts those inside the
// quarter circle; one reduce sums the counts.
//
//	dist build ./userapp/pi -o pi
//	dist run --app pi --tasks 8 --param samples=1000000 --output pi-out --local 2
//
// part-00000 then holds three lines: "inside<TAB>K", "total<TAB>M" and
// "pi<TAB>4·K/M" (ten decimals). Map i draws from a generator seeded by i,
// so a job gives the same answer every time. Every key goes to partition 0:
// with --reduces R > 1 the other parts are empty.
package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/distmr/dist/task"
)

// App is the estimator; a plugin host looks it up by this name.
var App = task.App{
	Map:       sample,
	Partition: func(string, int) int { return 0 },
	Reduce:    sum,
	Flush:     estimate,
}

func main() { task.Main(App) }

// seed keys map i's generator, with i.
const seed = 0x7069 // "pi"

// sample draws map i's points; key is the task index.
func sample(ctx *task.Context, _, _ string, emit task.Emit) error {
	if ctx.Tasks() == 0 {
		return task.Fatal(errors.New("pi reads no input: run it with --tasks N instead of --input"))
	}
	n, err := ctx.IntParam("samples", -1)
	if err != nil {
		return err
	}
	if n < 1 {
		return task.Fatal(errors.New("no sample count: run with --param samples=N (points per map, 1 or more)"))
	}
	r := rand.New(rand.NewPCG(seed, uint64(ctx.Index())))
	inside := 0
	for range n {
		x, y := r.Float64(), r.Float64()
		if x*x+y*y < 1 {
			inside++
		}
	}
	emit("inside", strconv.Itoa(inside))
	emit("total", strconv.Itoa(n))
	return nil
}

// sums is what the reduce has added up, for estimate.
type sums map[string]int64

// sum adds up the maps' counts of one key ("inside" or "total").
func sum(ctx *task.Context, key string, values task.Values, emit task.Emit) error {
	var n int64
	for v := range values {
		k, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("count %q of %s is not a number", v, key)
		}
		n += k
	}
	s, _ := ctx.State().(sums)
	if s == nil {
		s = sums{}
		ctx.SetState(s)
	}
	s[key] = n
	emit(key, strconv.FormatInt(n, 10))
	return nil
}

// estimate writes pi once the reduce has both sums; maps have nothing to
// flush, and nor has an empty partition.
func estimate(ctx *task.Context, emit task.Emit) error {
	s, _ := ctx.State().(sums)
	if ctx.Phase() != task.PhaseReduce || s == nil {
		return nil
	}
	if s["total"] == 0 {
		return errors.New("no samples reached the reduce")
	}
	emit("pi", strconv.FormatFloat(4*float64(s["inside"])/float64(s["total"]), 'f', 10, 64))
	return nil
}
