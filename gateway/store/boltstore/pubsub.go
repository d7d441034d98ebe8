package boltstore

import (
	"bytes"
	"context"
	"sync"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// subscriptionBuffer is how many messages a subscriber may fall behind before it misses
// some; Publish never waits for a slow subscriber.
const subscriptionBuffer = 128

// Publish delivers msg to the subscribers of channel in this process.
func (s *Store) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := s.begin(ctx); err != nil {
		return fail("publish", err)
	}
	if err := check.Name("channel", channel); err != nil {
		return fail("publish", err)
	}
	s.hub.publish(channel, msg)
	return nil
}

// Subscribe starts receiving channel.
func (s *Store) Subscribe(ctx context.Context, channel string) (store.Subscription, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fail("subscribe", err)
	}
	if err := check.Name("channel", channel); err != nil {
		return nil, fail("subscribe", err)
	}
	sub, err := s.hub.subscribe(channel)
	if err != nil {
		return nil, fail("subscribe", err)
	}
	return sub, nil
}

// hub is the in-process registry of subscriptions by channel.
type hub struct {
	mu     sync.Mutex
	subs   map[string]map[*subscription]struct{}
	closed bool
}

func (h *hub) subscribe(channel string) (*subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, store.ErrClosed
	}
	if h.subs == nil {
		h.subs = make(map[string]map[*subscription]struct{})
	}
	if h.subs[channel] == nil {
		h.subs[channel] = make(map[*subscription]struct{})
	}
	sub := &subscription{hub: h, channel: channel, ch: make(chan []byte, subscriptionBuffer)}
	h.subs[channel][sub] = struct{}{}
	return sub, nil
}

// publish hands each subscriber its own copy without waiting: a full buffer drops the message
// for that subscriber only.
func (h *hub) publish(channel string, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs[channel] {
		select {
		case sub.ch <- bytes.Clone(msg):
		default:
		}
	}
}

// remove ends one subscription. Channels are closed under the lock, so publish never sends on
// a closed one.
func (h *hub) remove(sub *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs, ok := h.subs[sub.channel]
	if _, live := subs[sub]; !ok || !live {
		return
	}
	delete(subs, sub)
	if len(subs) == 0 {
		delete(h.subs, sub.channel)
	}
	close(sub.ch)
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, subs := range h.subs {
		for sub := range subs {
			close(sub.ch)
		}
	}
	h.subs = nil
}

type subscription struct {
	hub     *hub
	channel string
	ch      chan []byte
}

func (s *subscription) C() <-chan []byte { return s.ch }

func (s *subscription) Close() error {
	s.hub.remove(s)
	return nil
}
