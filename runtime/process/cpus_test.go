package process

import (
	"strings"
	"testing"
)

func TestParseCPUs(t *testing.T) {
	tests := []struct {
		in      string
		want    string // FormatCPUs of the result
		wantErr string
	}{
		{in: "0", want: "0"},
		{in: "0-2,5", want: "0-2,5"},
		{in: "5,0-2", want: "0-2,5"},
		{in: "0,1,2,3", want: "0-3"},
		{in: "2-3\n", want: "2-3"},
		{in: " 1 , 3 - 4 ", want: "1,3-4"},
		{in: "0-0", want: "0"},
		{in: "1-3,2-4", want: "1-4"},
		{in: "1023", want: "1023"},
		{in: "", wantErr: `cpu list "": empty`},
		{in: "1,,2", wantErr: "empty item"},
		{in: "1,", wantErr: "empty item"},
		{in: "a", wantErr: `invalid CPU number "a"`},
		{in: "-1", wantErr: `invalid CPU number ""`},
		{in: "+1", wantErr: `invalid CPU number "+1"`},
		{in: "1-", wantErr: `invalid CPU number ""`},
		{in: "3-1", wantErr: `range "3-1" ends before it starts`},
		{in: "1-2-3", wantErr: `invalid CPU number "2-3"`},
		{in: "1024", wantErr: "CPU 1024 out of range (max 1023)"},
	}
	for _, tt := range tests {
		set, err := ParseCPUs(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCPUs(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCPUs(%q): %v", tt.in, err)
			continue
		}
		if got := FormatCPUs(set); got != tt.want {
			t.Errorf("FormatCPUs(ParseCPUs(%q)) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatCPUsEmpty(t *testing.T) {
	set, _ := ParseCPUs("3")
	set.Clear(3)
	if got := FormatCPUs(set); got != "" {
		t.Errorf("FormatCPUs(empty) = %q", got)
	}
}
