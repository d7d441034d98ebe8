package conformance

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"
)

// benchValue is the size of a typical session or grant record.
var benchValue = bytes.Repeat([]byte("v"), 256)

// Benchmark measures the operations on the gateway's hot paths, one sub-benchmark each.
func Benchmark(b *testing.B, newStore NewStore) {
	b.Run("Get", func(b *testing.B) {
		st := newStore(b)
		ctx := context.Background()
		if err := st.Put(ctx, "bench:get", benchValue, 0); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.Get(ctx, "bench:get"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetParallel", func(b *testing.B) {
		st := newStore(b)
		ctx := context.Background()
		if err := st.Put(ctx, "bench:get", benchValue, 0); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.Get(ctx, "bench:get"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Put", func(b *testing.B) {
		st := newStore(b)
		ctx := context.Background()
		for b.Loop() {
			if err := st.Put(ctx, "bench:put", benchValue, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Create", func(b *testing.B) {
		st := newStore(b)
		ctx := context.Background()
		i := 0
		for b.Loop() {
			i++
			if err := st.Create(ctx, "bench:create:"+strconv.Itoa(i), benchValue, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Append", func(b *testing.B) {
		st := newStore(b)
		ctx := context.Background()
		for b.Loop() {
			if _, err := st.Append(ctx, "bench:log", benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
}
