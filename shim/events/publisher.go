// Package events sends task events to containerd over ttrpc: the
// containerd.services.events.ttrpc.v1.Events/Forward call at TTRPC_ADDRESS,
// with the shim's namespace in the containerd-namespace-ttrpc header.
//
// Events leave in the order they were published, from one goroutine, so
// create is seen before start and an exec's exit before its init's.
package events

import (
	"context"
	"fmt"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	eventsapi "github.com/slrt/slrt/shim/internal/pb/services/ttrpc/events/v1"
	"github.com/slrt/slrt/shim/internal/pb/types"
	"github.com/slrt/slrt/shim/internal/pb/wkt"
	"github.com/slrt/slrt/shim/internal/ttrpc"
)

// Topics containerd files task events under.
const (
	TopicCreate      = "/tasks/create"
	TopicStart       = "/tasks/start"
	TopicExit        = "/tasks/exit"
	TopicDelete      = "/tasks/delete"
	TopicExecAdded   = "/tasks/exec-added"
	TopicExecStarted = "/tasks/exec-started"
	TopicOOM         = "/tasks/oom"
	TopicPaused      = "/tasks/paused"
	TopicResumed     = "/tasks/resumed"
	namespaceHeader  = "containerd-namespace-ttrpc"
	// The service containerd serves at TTRPC_ADDRESS for shims' events.
	eventsService = "containerd.services.events.ttrpc.v1.Events"
	queueLen      = 128
	sendTimeout   = 5 * time.Second
	retries       = 5
)

// Publisher forwards events; a nil *Publisher drops them (tests of the
// task service without containerd).
type Publisher struct {
	address   string
	namespace string
	queue     chan *types.Envelope
	done      chan struct{}

	mu     sync.Mutex
	client *ttrpc.Client
}

// New starts a publisher for containerd's ttrpc address ("unix:///…" or a
// bare path) and namespace. Close flushes it.
func New(address, namespace string) *Publisher {
	p := &Publisher{
		address:   strings.TrimPrefix(address, "unix://"),
		namespace: namespace,
		queue:     make(chan *types.Envelope, queueLen),
		done:      make(chan struct{}),
	}
	go p.run()
	return p
}

// Event is a generated event message (shim/internal/pb/events).
type Event interface {
	Marshal() ([]byte, error)
	ProtoName() string
}

// Publish queues event under topic. It never blocks on containerd.
func (p *Publisher) Publish(topic string, event Event) {
	if p == nil {
		return
	}
	b, err := (event).Marshal()
	if err != nil {
		log.Printf("events: encode %s: %v", topic, err)
		return
	}
	env := &types.Envelope{
		Timestamp: wkt.NewTimestamp(time.Now()),
		Namespace: p.namespace,
		Topic:     topic,
		// containerd's typeurl names protobuf messages by their full
		// name, without the type.googleapis.com/ prefix.
		Event: &wkt.Any{TypeUrl: event.ProtoName(), Value: b},
	}
	select {
	case p.queue <- env:
	default:
		log.Printf("events: queue full, dropping %s", topic)
	}
}

// Close sends what is queued (bounded by the send timeout) and stops.
func (p *Publisher) Close() {
	if p == nil {
		return
	}
	close(p.queue)
	<-p.done
	p.mu.Lock()
	if p.client != nil {
		p.client.Close()
	}
	p.mu.Unlock()
}

func (p *Publisher) run() {
	defer close(p.done)
	for env := range p.queue {
		var err error
		for i := 0; i < retries; i++ {
			if err = p.forward(env); err == nil {
				break
			}
			time.Sleep(time.Duration(i+1) * 50 * time.Millisecond)
		}
		if err != nil {
			log.Printf("events: publish %s: %v", env.Topic, err)
		}
	}
}

func (p *Publisher) forward(env *types.Envelope) error {
	c, err := p.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	ctx = ttrpc.WithMetadata(ctx, ttrpc.MD{namespaceHeader: []string{p.namespace}})
	err = c.Call(ctx, eventsService, "Forward", &eventsapi.ForwardRequest{Envelope: env}, &wkt.Empty{})
	if err != nil {
		p.mu.Lock()
		if p.client == c {
			c.Close()
			p.client = nil // reconnect: containerd may have restarted
		}
		p.mu.Unlock()
		return err
	}
	return nil
}

func (p *Publisher) connect() (*ttrpc.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil {
		return p.client, nil
	}
	if p.address == "" {
		return nil, fmt.Errorf("no containerd ttrpc address (TTRPC_ADDRESS unset)")
	}
	conn, err := net.DialTimeout("unix", p.address, sendTimeout)
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", p.address, err)
	}
	p.client = ttrpc.NewClient(conn)
	return p.client, nil
}
