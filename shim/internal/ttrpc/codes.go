package ttrpc

import (
	"errors"
	"fmt"
	"strconv"
)

// Code is a gRPC status code. containerd maps the number in a response's
// status to its error kinds (errdefs.FromGRPC), so the numbers are gRPC's.
type Code uint32

const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
	"AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
	"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// Error is an error with a status code: what a handler returns to choose
// the code containerd sees, and what a Client returns for a failed call.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	return "ttrpc: " + e.Code.String() + ": " + e.Message
}

// Errorf returns an *Error with code c.
func Errorf(c Code, format string, args ...any) error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// CodeOf is the code err carries: OK for nil, an *Error's code (also when
// wrapped), else Unknown.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unknown
}

// status is what a response carries for err. A wrapped *Error keeps its
// code and sends the whole chain's text, as containerd's ttrpc does.
func status(err error) *RPCStatus {
	if err == nil {
		return &RPCStatus{}
	}
	var e *Error
	if errors.As(err, &e) {
		msg := e.Message
		if error(e) != err {
			msg = err.Error()
		}
		return &RPCStatus{Code: int32(e.Code), Message: msg}
	}
	return &RPCStatus{Code: int32(Unknown), Message: err.Error()}
}
