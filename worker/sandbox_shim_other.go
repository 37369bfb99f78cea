//go:build !(linux && (amd64 || arm64 || 386 || arm || riscv64 || ppc64 || ppc64le || s390x || loong64))

package worker

import "errors"

func runShim([]string) error { return errors.New("not supported on this platform") }
