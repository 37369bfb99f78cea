// Command nomain links task.Main but does not call it unless told to: it
// passes dist run's check of the program's function names, and the
// worker must notice at run time that it never called task.Main.
package main

import (
	"fmt"
	"os"

	"github.com/distmr/dist/task"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--really" {
		task.Main(task.App{})
	}
	fmt.Println("hello, world")
}
