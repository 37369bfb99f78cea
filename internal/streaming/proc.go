package streaming

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Sizes of the pipes' buffering.
const (
	chunkSize = 64 << 10 // input bytes handed to the writer at once
	batchSize = 512      // output lines handed back at once, at most
	// MaxLine bounds one line a command writes.
	MaxLine = 64 << 20
	// waitDelay bounds the wait for a command's stderr after it exits:
	// a child it left behind may hold it open.
	waitDelay = time.Second
)

// proc is one running command. Only the task's goroutine calls its
// methods; the writer and reader goroutines it starts talk to it through
// channels.
type proc struct {
	role, name string
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	stderr     *tail

	buf  []byte        // input not yet handed to the writer
	in   chan []byte   // chunks for the writer; closed by closeInput
	free chan []byte   // chunks the writer is done with
	out  chan []string // lines from the reader; closed after the last
	quit chan struct{} // closed by kill: the reader stops sending

	writerDone, readerDone chan struct{}
	werr, rerr             error // set by the goroutines before their done

	inClosed, eof, waited bool
	exitErr               error // from Wait, once waited
}

// start runs the command with its stdin and stdout on pipes.
func start(role string, c Command, env []string, stderr io.Writer) (*proc, error) {
	name := c.Name
	if name == "" {
		name = c.Path
	}
	p := &proc{
		role: role, name: name, stderr: &tail{},
		in: make(chan []byte, 2), free: make(chan []byte, 4), out: make(chan []string, 4),
		quit: make(chan struct{}), writerDone: make(chan struct{}), readerDone: make(chan struct{}),
	}
	p.cmd = exec.Command(c.Path)
	p.cmd.Env = env
	p.cmd.SysProcAttr = commandProcAttr()
	// A child the command left behind may hold stderr open; do not wait
	// for it forever.
	p.cmd.WaitDelay = waitDelay
	p.cmd.Stderr = io.MultiWriter(stderr, p.stderr)
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, p.startError(err)
	}
	go p.writer()
	go p.reader(stdout)
	return p, nil
}

func (p *proc) String() string { return p.role + " " + p.name }

func (p *proc) startError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOEXEC):
		return fmt.Errorf("%s could not start: %v: a script needs a #! line, a program must be built for this worker's platform", p, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s could not start: %v: make it executable (chmod +x) before shipping it", p, err)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s could not start: %v: is its #! interpreter installed on the worker?", p, err)
	}
	return fmt.Errorf("%s could not start: %w", p, err)
}

// writer copies chunks to stdin until in is closed, then closes stdin.
// After a failed write it keeps taking chunks (and drops them), so the
// task's goroutine never blocks on a command that stopped reading.
func (p *proc) writer() {
	defer close(p.writerDone)
	for chunk := range p.in {
		if p.werr == nil {
			if _, err := p.stdin.Write(chunk); err != nil {
				p.werr = err
			}
		}
		select {
		case p.free <- chunk[:0]:
		default:
		}
	}
	if err := p.stdin.Close(); err != nil && p.werr == nil && !errors.Is(err, os.ErrClosed) {
		p.werr = err
	}
}

// reader sends stdout's lines, in batches, until EOF or quit.
func (p *proc) reader(stdout io.Reader) {
	defer close(p.readerDone)
	defer close(p.out)
	br := bufio.NewReaderSize(stdout, chunkSize)
	batch := make([]string, 0, batchSize)
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case p.out <- batch:
			batch = make([]string, 0, batchSize)
			return true
		case <-p.quit:
			return false
		}
	}
	for {
		line, err := readLine(br)
		if err == nil || err == io.EOF && line != "" {
			batch = append(batch, line)
		}
		if err != nil {
			if err != io.EOF {
				p.rerr = err
			}
			send()
			return
		}
		if (len(batch) == batchSize || br.Buffered() == 0) && !send() {
			return
		}
	}
}

// readLine reads one line without its newline; a last line without one
// counts too. A line over MaxLine is an error.
func readLine(br *bufio.Reader) (string, error) {
	var long []byte
	for {
		frag, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(frag) > MaxLine {
				return "", fmt.Errorf("an output line is over %d bytes: write shorter lines", MaxLine)
			}
			long = append(long, frag...)
			continue
		}
		frag = bytesTrimNewline(frag)
		if long != nil {
			return string(append(long, frag...)), err
		}
		return string(frag), err
	}
}

func bytesTrimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// write queues one line of input; emit receives output that arrived
// meanwhile. When the command has already ended, a failure is returned
// and, after a clean exit, the line is dropped: the command chose to stop
// reading.
func (p *proc) write(line []byte, emit func(key, value string) error) error {
	if p.eof {
		return p.endedEarly()
	}
	p.buf = append(p.buf, line...)
	if len(p.buf) < chunkSize {
		return nil
	}
	return p.send(emit)
}

// send hands the buffered input to the writer, emitting output while it
// waits.
func (p *proc) send(emit func(key, value string) error) error {
	chunk := p.buf
	select {
	case p.buf = <-p.free:
	default:
		p.buf = make([]byte, 0, chunkSize)
	}
	for {
		select {
		case p.in <- chunk:
			return nil
		case lines, ok := <-p.out:
			if !ok {
				p.eof = true
				p.out = nil // never ready again; the writer drains in
				continue
			}
			if err := emitLines(lines, emit); err != nil {
				return err
			}
		}
	}
}

// endedEarly is what write says once the command's output has ended
// before its input did.
func (p *proc) endedEarly() error {
	if !p.waited {
		p.closeInput()
		<-p.writerDone
		<-p.readerDone
		p.wait()
	}
	return p.exitError()
}

func emitLines(lines []string, emit func(key, value string) error) error {
	for _, l := range lines {
		k, v, _ := strings.Cut(l, "\t")
		if err := emit(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *proc) closeInput() {
	if !p.inClosed {
		p.inClosed = true
		close(p.in)
	}
}

// finish sends the rest of the input, closes stdin, emits the rest of
// the output and waits for the command; its failure is the error.
func (p *proc) finish(emit func(key, value string) error) error {
	if !p.eof && len(p.buf) > 0 {
		if err := p.send(emit); err != nil {
			return err
		}
	}
	p.closeInput()
	if p.out != nil {
		for lines := range p.out {
			if err := emitLines(lines, emit); err != nil {
				return err
			}
		}
		p.out, p.eof = nil, true
	}
	<-p.writerDone
	<-p.readerDone
	p.wait()
	if err := p.exitError(); err != nil {
		return err
	}
	if p.rerr != nil {
		return fmt.Errorf("%s: read its output: %w", p, p.rerr)
	}
	if p.werr != nil && !errors.Is(p.werr, syscall.EPIPE) {
		return fmt.Errorf("%s: write its input: %w", p, p.werr)
	}
	return nil
}

func (p *proc) wait() {
	if !p.waited {
		p.waited = true
		p.exitErr = p.cmd.Wait()
		if errors.Is(p.exitErr, exec.ErrWaitDelay) {
			// It exited 0 but left a child holding stderr; its output
			// was complete (stdout reached EOF), so that is not a failure.
			p.exitErr = nil
		}
	}
}

// exitError describes how the command failed, or is nil if it exited 0.
func (p *proc) exitError() error {
	var ee *exec.ExitError
	if !errors.As(p.exitErr, &ee) {
		if p.exitErr != nil {
			return fmt.Errorf("%s: %w", p, p.exitErr)
		}
		return nil
	}
	last := p.stderr.lastLine()
	if last != "" {
		last = ": " + last
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Errorf("%s was killed by signal %v%s", p, ws.Signal(), last)
	}
	return fmt.Errorf("%s exited with status %d%s", p, ee.ExitCode(), last)
}

// kill ends a command the task gave up on and waits for it and for both
// goroutines. It does nothing after finish.
func (p *proc) kill() {
	if p.waited {
		return
	}
	_ = p.cmd.Process.Kill()
	close(p.quit)
	p.closeInput()
	// Wait closes our ends of the pipes, which unblocks the goroutines
	// even when a child of the command still holds the other ends.
	p.wait()
	<-p.writerDone
	<-p.readerDone
}

// tail keeps the last bytes a command wrote to stderr.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(b), nil
}

// lastLine returns the last non-blank line written, at most 300 bytes.
func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(t.buf), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			if len(l) > 300 {
				l = strings.ToValidUTF8(l[:300], "") + "…"
			}
			return l
		}
	}
	return ""
}
