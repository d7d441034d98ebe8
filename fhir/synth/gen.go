package synth

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// digest hashes the seed and the names of what is being generated into the
// root of every random stream and id. Each part is length-prefixed, so
// ("ab","c") and ("a","bc") differ.
func digest(seed uint64, parts ...string) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], seed)
	h.Write(n[:])
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// stream is a deterministic random source for one section of one record.
// Sections draw from their own streams so that a change in one (say, one
// more immunization because the clock moved into a new flu season) does not
// shift the choices made in another.
func stream(seed uint64, parts ...string) *rand.Rand {
	sum := digest(seed, parts...)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[0:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// makeID derives a FHIR id ([A-Za-z0-9\-\.]{1,64}): a short prefix naming
// the kind of resource, then 64 bits of the digest in hex.
func makeID(prefix string, seed uint64, parts ...string) string {
	sum := digest(seed, parts...)
	return prefix + "-" + hex.EncodeToString(sum[:8])
}

// pick returns a random element of a non-empty slice.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// between returns a uniform integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// normal draws from a normal distribution.
func normal(r *rand.Rand, mean, sd float64) float64 { return mean + sd*r.NormFloat64() }

// clock turns day offsets from today into times. Generated dates are whole
// days away from today (in Options.Now's location) at clinic hours, so the
// same Now gives the same dates, a Now one week later gives dates one week
// later, future appointments (day ≥ 1) are always after Now and past visits
// (day ≤ -1) always before it.
type clock struct {
	now   time.Time
	today time.Time // midnight starting Now's day
}

func newClock(now time.Time) clock {
	y, m, d := now.Date()
	return clock{now: now, today: time.Date(y, m, d, 0, 0, 0, 0, now.Location())}
}

// at is the given minute of the day offset days from today.
func (c clock) at(day, minute int) time.Time {
	y, m, d := c.today.Date()
	return time.Date(y, m, d+day, 0, minute, 0, 0, c.today.Location())
}

// dayOf is the offset from today of the day holding t.
func (c clock) dayOf(t time.Time) int {
	t = t.In(c.today.Location())
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	ty, tm, td := c.today.Date()
	return int(day.Sub(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// civil is midnight, in the clock's location, of the calendar date t has
// in its own location: a birth date means the same day wherever the
// records are generated.
func (c clock) civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.today.Location())
}

// weekday is the weekday of a day offset.
func (c clock) weekday(day int) time.Weekday { return c.at(day, 0).Weekday() }

// workday moves a day offset back to the nearest weekday on or before it.
func (c clock) workday(day int) int {
	for c.weekday(day) == time.Saturday || c.weekday(day) == time.Sunday {
		day--
	}
	return day
}

// ageAt is the age in whole years on t of someone born on birth.
func ageAt(birth, t time.Time) int {
	age := t.Year() - birth.Year()
	if t.Month() < birth.Month() || (t.Month() == birth.Month() && t.Day() < birth.Day()) {
		age--
	}
	return age
}

// minuteOfDay renders hours and minutes as minutes since midnight.
func minuteOfDay(h, m int) int { return h*60 + m }
