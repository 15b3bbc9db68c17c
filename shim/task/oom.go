package task

import (
	"log"
	"sync"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/shim/events"
	eventsapi "github.com/slrt/slrt/shim/internal/pb/events"
)

// oomWatch turns a container's OOM kills into TaskOOM events. Kills are
// learnt two ways: the engine's watcher wakes flush soon after a kill, and
// every process exit calls flush before its TaskExit is published, since
// the exit can be seen before the watcher's wake-up. flush publishes the
// growth of the cgroup's kill counter under one lock, so each kill is
// reported once, and before the exit it caused.
type oomWatch struct {
	id  string
	c   *container.Container
	pub *events.Publisher

	mu        sync.Mutex
	reported  uint64 // the kill counter when last published
	stopWatch func()
}

// watchOOM starts watching; nil (no OOM events) when the container has no
// memory cgroup to watch.
func watchOOM(id string, c *container.Container, pub *events.Publisher) *oomWatch {
	n, err := c.OOMKillCount()
	if err != nil {
		log.Printf("container %s: no OOM events: %v", id, err)
		return nil
	}
	ch, stop, err := c.OOMEvents()
	if err != nil {
		log.Printf("container %s: no OOM events: %v", id, err)
		return nil
	}
	w := &oomWatch{id: id, c: c, pub: pub, reported: n, stopWatch: stop}
	go func() {
		for range ch { // closed by stop or when the cgroup goes
			w.flush()
		}
	}()
	return w
}

// flush publishes a TaskOOM for each kill not reported yet.
func (w *oomWatch) flush() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.c.OOMKillCount()
	if err != nil {
		return // cgroup gone: the container is being deleted
	}
	for ; w.reported < n; w.reported++ {
		w.pub.Publish(events.TopicOOM, &eventsapi.TaskOOM{ContainerID: w.id})
	}
}

// stop ends the watch (the container is deleted).
func (w *oomWatch) stop() {
	if w != nil {
		w.stopWatch()
	}
}
