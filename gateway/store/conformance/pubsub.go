package conformance

import (
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
)

func testPubSubDelivery(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	must(t, st.Publish(ctx, "news", []byte("nobody listens"))) // no subscribers: fine

	first, err := st.Subscribe(ctx, "news")
	must(t, err)
	defer first.Close()
	second, err := st.Subscribe(ctx, "news")
	must(t, err)
	defer second.Close()
	other, err := st.Subscribe(ctx, "sports")
	must(t, err)
	defer other.Close()

	sent := []string{"m1", "m2", "m3"}
	for _, m := range sent {
		must(t, st.Publish(ctx, "news", []byte(m)))
	}
	must(t, st.Publish(ctx, "sports", []byte("goal")))
	for name, sub := range map[string]store.Subscription{"first": first, "second": second} {
		for _, want := range sent {
			if got := receive(t, sub, name+" subscriber"); string(got) != want {
				t.Fatalf("%s subscriber got %q, want %q", name, got, want)
			}
		}
	}
	// Published after the news, so the news would have arrived first had it leaked.
	if got := receive(t, other, "other channel"); string(got) != "goal" {
		t.Fatalf("subscriber of another channel got %q, want only its own %q", got, "goal")
	}
}

func testCloseSubscription(t *testing.T, s *suite) {
	st, ctx := s.open(t)
	leaving, err := st.Subscribe(ctx, "news")
	must(t, err)
	staying, err := st.Subscribe(ctx, "news")
	must(t, err)
	defer staying.Close()

	must(t, leaving.Close())
	select {
	case msg, ok := <-leaving.C():
		if ok {
			t.Fatalf("closed subscription delivered %q", msg)
		}
	default:
		t.Fatal("C not closed when Close returned")
	}
	must(t, st.Publish(ctx, "news", []byte("after")))
	if got := receive(t, staying, "remaining subscriber"); string(got) != "after" {
		t.Fatalf("remaining subscriber got %q, want %q", got, "after")
	}
	select {
	case msg, ok := <-leaving.C():
		if ok {
			t.Fatalf("closed subscription delivered %q", msg)
		}
	case <-time.After(10 * time.Millisecond):
		t.Fatal("C of a closed subscription blocks instead of being closed")
	}
	must(t, leaving.Close()) // twice: harmless
}
