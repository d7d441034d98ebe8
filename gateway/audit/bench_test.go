package audit

import (
	"testing"

	"github.com/portalgate/portalgate/gateway/store/storetest"
)

// BenchmarkRecord measures the cost Record adds to every record access: a read of one
// resource of one record, the commonest case. "encode" is the work before the store: check,
// build and marshal.
func BenchmarkRecord(b *testing.B) {
	e := base(RecordRead)
	e.Client, e.ClientName = "app-7", "Health Diary"

	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n, err := e.normalize()
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range build(n, start, "gateway.test") {
				if _, err := ev.MarshalJSON(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		benchmarkRecord(b, newTestLog(b, newMemStorage(), newClock()), e)
	})
	for _, eng := range storetest.Engines() {
		b.Run(eng.Name, func(b *testing.B) {
			clock := newClock()
			benchmarkRecord(b, newTestLog(b, eng.Open(b, clock.Now), clock), e)
		})
	}
}

func benchmarkRecord(b *testing.B, l *Log, e Event) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Record(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForPerson measures reading one page of a patient's trail.
func BenchmarkForPerson(b *testing.B) {
	l := newTestLog(b, newMemStorage(), newClock())
	for range DefaultPageLimit {
		if _, err := l.Record(b.Context(), base(RecordRead)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := l.ForPerson(b.Context(), "lakeside", "alex", Page{}); err != nil {
			b.Fatal(err)
		}
	}
}
