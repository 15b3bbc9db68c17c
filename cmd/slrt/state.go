package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/container"
)

var specVersion = specs.Version

// stateOutput is runc's `state` output, field for field and in runc's order
// (runc's containerState).
type stateOutput struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func toOutput(st container.State, owner string) stateOutput {
	v := st.Version
	if v == "" {
		v = specVersion
	}
	pid := st.Pid
	if st.Status == container.Stopped {
		pid = 0 // runc reports no pid for a stopped container
	}
	return stateOutput{
		OCIVersion:  v,
		ID:          st.ID,
		Pid:         pid,
		Status:      string(st.Status),
		Bundle:      st.Bundle,
		Rootfs:      st.Rootfs,
		Created:     st.Created.UTC(),
		Owner:       owner,
		Annotations: st.Annotations,
	}
}

var stateCommand = &command{
	name:  "state",
	args:  "<container-id>",
	short: "output the state of a container",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		return func(args []string) error {
			c, err := load(g, args[0])
			if err != nil {
				return err
			}
			st, err := c.State()
			if err != nil {
				return describe(err)
			}
			// runc leaves owner empty here (it is filled in by list) and
			// prints no newline after the JSON.
			return writeJSON(os.Stdout, toOutput(st, ""), "  ", false)
		}
	},
}

func writeJSON(w io.Writer, v any, indent string, newline bool) error {
	var b []byte
	var err error
	if indent != "" {
		b, err = json.MarshalIndent(v, "", indent)
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	if newline {
		b = append(b, '\n')
	}
	_, err = w.Write(b)
	return err
}
