//go:build !race

package registry

import "testing"

func skipUnderRace(*testing.T) {}
