package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slrt/slrt/runtime/container"
)

var listCommand = &command{
	name:  "list",
	args:  "",
	short: "lists containers started by slrt with the given root",
	nargs: 0,
	setup: func(flags *flag.FlagSet, g *globals) func([]string) error {
		var format string
		var quiet bool
		stringFlag(flags, &format, "format,f", "table", "select one of: table or json")
		boolFlag(flags, &quiet, "quiet,q", "display only container IDs")
		return func(args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("invalid format option")
			}
			states, err := container.List(g.root)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return describe(err)
			}
			if quiet {
				for _, st := range states {
					fmt.Println(st.ID)
				}
				return nil
			}
			names := map[int]string{}
			out := make([]stateOutput, 0, len(states))
			for _, st := range states {
				if _, ok := names[st.Owner]; !ok {
					names[st.Owner] = userName(st.Owner)
				}
				out = append(out, toOutput(st, names[st.Owner]))
			}
			if format == "json" {
				// runc prints "null" for no containers; a newline follows, as json.Encoder writes it.
				if len(out) == 0 {
					out = nil
				}
				return writeJSON(os.Stdout, out, "", true)
			}
			// runc's table: a tabwriter of min width 12, padding 3.
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range out {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		}
	},
}

// userName finds uid's name in /etc/passwd, or the number as text. It reads
// the file itself: os/user would pull cgo's NSS path into every start-up.
func userName(uid int) string {
	id := strconv.Itoa(uid)
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "#" + id
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), ":", 4)
		if len(fields) >= 3 && fields[2] == id {
			return fields[0]
		}
	}
	return "#" + id
}
