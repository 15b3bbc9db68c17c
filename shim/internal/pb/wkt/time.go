package wkt

import "time"

// NewTimestamp converts t to a Timestamp (seconds and nanoseconds since the
// Unix epoch, as google.protobuf.Timestamp defines them).
func NewTimestamp(t time.Time) *Timestamp {
	return &Timestamp{Seconds: t.Unix(), Nanos: int32(t.Nanosecond())}
}

// AsTime converts x to a time.Time in UTC; nil is the Unix epoch, as in
// protobuf-go.
func (x *Timestamp) AsTime() time.Time {
	return time.Unix(x.GetSeconds(), int64(x.GetNanos())).UTC()
}
