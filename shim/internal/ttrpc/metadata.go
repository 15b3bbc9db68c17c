package ttrpc

import "context"

// MD is a call's metadata: containerd sends the namespace in it
// (containerd-namespace-ttrpc) and expects it on events we publish.
type MD map[string][]string

type mdKey struct{}

// WithMetadata returns ctx carrying md, which Client.Call sends.
func WithMetadata(ctx context.Context, md MD) context.Context {
	return context.WithValue(ctx, mdKey{}, md)
}

// GetMetadata returns the metadata of the call ctx belongs to.
func GetMetadata(ctx context.Context) (MD, bool) {
	md, ok := ctx.Value(mdKey{}).(MD)
	return md, ok
}

// Get returns the values of key.
func (md MD) Get(key string) ([]string, bool) {
	v, ok := md[key]
	return v, ok
}

func (md MD) toWire() []*KeyValue {
	var kvs []*KeyValue
	for k, vs := range md {
		for _, v := range vs {
			kvs = append(kvs, &KeyValue{Key: k, Value: v})
		}
	}
	return kvs
}

func mdFromWire(kvs []*KeyValue) MD {
	md := MD{}
	for _, kv := range kvs {
		md[kv.Key] = append(md[kv.Key], kv.Value)
	}
	return md
}
