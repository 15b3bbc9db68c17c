package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// logger writes runc-style log entries. Callers of runc read them back:
// containerd's runc shim and podman pass `--log FILE --log-format json` and,
// when a command fails, take the last entry's "msg" as the error. So the
// JSON form is logrus's exactly: {"level":...,"msg":...,"time":RFC3339}.
//
// The user also gets every error as one plain line on stderr.
type logger struct {
	w      io.Writer
	file   *os.File // nil when w is stderr
	json   bool
	debug  bool
	stderr io.Writer
}

func openLog(path, format string, debug bool, stderr io.Writer) (*logger, error) {
	l := &logger{w: stderr, debug: debug, stderr: stderr}
	switch format {
	case "text":
	case "json":
		l.json = true
	default:
		return nil, fmt.Errorf("unknown log-format %q", format)
	}
	if path != "" && path != "/dev/stderr" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open log file: %w", err)
		}
		l.w, l.file = f, f
	}
	return l, nil
}

func (l *logger) close() {
	if l.file != nil {
		l.file.Close()
	}
}

// fatal reports a command's error: a plain line on stderr, and an entry in
// the log file when there is one.
func (l *logger) fatal(msg string) {
	fmt.Fprintln(l.stderr, msg)
	if l.file != nil {
		l.entry("error", msg)
	}
}

// logOnly records an error in the log file only (usage errors already went
// to stderr with the usage text).
func (l *logger) logOnly(msg string) {
	if l.file != nil {
		l.entry("error", msg)
	}
}

func (l *logger) warnf(format string, a ...any) { l.entry("warning", fmt.Sprintf(format, a...)) }

func (l *logger) debugf(format string, a ...any) {
	if l.debug {
		l.entry("debug", fmt.Sprintf(format, a...))
	}
}

func (l *logger) entry(level, msg string) {
	now := time.Now().UTC().Format(time.RFC3339)
	var line []byte
	if l.json {
		m, _ := json.Marshal(msg)
		line = fmt.Appendf(nil, `{"level":%q,"msg":%s,"time":%q}`+"\n", level, m, now)
	} else {
		line = fmt.Appendf(nil, "time=%q level=%s msg=%s\n", now, level, strconv.Quote(msg))
	}
	l.w.Write(line)
}
