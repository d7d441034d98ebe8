package redisstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/gateway/store/internal/check"
)

// subscriptionBuffer is how many messages a subscriber may fall behind before go-redis starts
// dropping them for it.
const subscriptionBuffer = 128

// Publish sends msg with PUBLISH; on Cluster it reaches subscribers on every node.
func (s *Store) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := s.begin(ctx); err != nil {
		return s.fail("publish", err)
	}
	if err := check.Name("channel", channel); err != nil {
		return s.fail("publish", err)
	}
	if err := s.client.Publish(ctx, s.channelPrefix+channel, msg).Err(); err != nil {
		return s.fail("publish to "+channel, err)
	}
	return nil
}

// Subscribe sends SUBSCRIBE and waits for the server to confirm it, so that every message
// published after it returns is delivered. go-redis resubscribes after a reconnect; messages
// published while disconnected are lost.
func (s *Store) Subscribe(ctx context.Context, channel string) (store.Subscription, error) {
	if err := s.begin(ctx); err != nil {
		return nil, s.fail("subscribe", err)
	}
	if err := check.Name("channel", channel); err != nil {
		return nil, s.fail("subscribe", err)
	}
	op := "subscribe to " + channel
	ps := s.client.Subscribe(ctx, s.channelPrefix+channel)
	reply, err := ps.Receive(ctx)
	if err != nil {
		_ = ps.Close()
		return nil, s.fail(op, err)
	}
	if _, ok := reply.(*redis.Subscription); !ok {
		_ = ps.Close()
		return nil, s.fail(op, fmt.Errorf("unexpected reply %T to SUBSCRIBE", reply))
	}
	sub := &subscription{
		ps:    ps,
		out:   make(chan []byte),
		stop:  make(chan struct{}),
		ended: make(chan struct{}),
		store: s,
	}
	s.mu.Lock()
	if s.subs == nil { // closed meanwhile
		s.mu.Unlock()
		_ = ps.Close()
		return nil, s.fail(op, store.ErrClosed)
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	go sub.forward(ps.Channel(redis.WithChannelSize(subscriptionBuffer)))
	return sub, nil
}

// subscription turns go-redis messages into payloads. Its own goroutine forwards them, so that
// once Close returns, C is closed and nothing more arrives.
type subscription struct {
	ps    *redis.PubSub
	out   chan []byte
	stop  chan struct{}
	ended chan struct{}
	store *Store

	once sync.Once
	err  error
}

func (sub *subscription) forward(in <-chan *redis.Message) {
	defer close(sub.ended)
	defer close(sub.out)
	for {
		select {
		case <-sub.stop:
			return
		case msg, ok := <-in:
			if !ok {
				return
			}
			select {
			case sub.out <- []byte(msg.Payload):
			case <-sub.stop:
				return
			}
		}
	}
}

func (sub *subscription) C() <-chan []byte { return sub.out }

// Close unsubscribes and waits for the forwarding goroutine to end.
func (sub *subscription) Close() error {
	sub.store.mu.Lock()
	delete(sub.store.subs, sub)
	sub.store.mu.Unlock()
	return sub.close()
}

func (sub *subscription) close() error {
	sub.once.Do(func() {
		close(sub.stop)
		if err := sub.ps.Close(); err != nil {
			sub.err = fmt.Errorf("redisstore: close subscription: %w", err)
		}
		<-sub.ended
	})
	return sub.err
}
