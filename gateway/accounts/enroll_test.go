package accounts

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portalgate/portalgate/gateway/store/storetest"
	"github.com/portalgate/portalgate/tenants"
)

func TestRedeemOnceAndNeverAgain(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	code := f.issue(t, "lakeside", "blake", "clinics")
	first := login{"lakeside", "blake-sub", "192.0.2.1"}

	if _, err := f.svc.AccountFor(ctx, "lakeside", "https://idp.lakeside.test", "blake-sub"); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("AccountFor before enrolling: %v, want ErrNotEnrolled", err)
	}
	acct := f.enroll(t, first, code)
	want := Account{
		ID: acct.ID, Network: "lakeside", Issuer: "https://idp.lakeside.test", Subject: "blake-sub",
		Person: "blake", HomeOrg: "clinics", Created: start,
	}
	if *acct != want || len(acct.ID) != 32 {
		t.Fatalf("Redeem = %+v, want %+v", *acct, want)
	}
	got, err := f.svc.AccountFor(ctx, "lakeside", "https://idp.lakeside.test", "blake-sub")
	if err != nil || *got != want {
		t.Fatalf("AccountFor = %+v, %v; want %+v", got, err, want)
	}
	if byID, err := f.svc.Account(ctx, "lakeside", acct.ID); err != nil || *byID != want {
		t.Fatalf("Account(id) = %+v, %v", byID, err)
	}

	// The code is spent, for another login and for the same one.
	if _, err := f.svc.Redeem(ctx, login{"lakeside", "someone-else", "192.0.2.2"}.with(code)); !errors.Is(err, ErrCodeRejected) {
		t.Errorf("second redemption by another login: %v, want ErrCodeRejected", err)
	}
	if _, err := f.svc.Redeem(ctx, first.with(code)); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("second redemption by the same login: %v, want ErrAlreadyEnrolled", err)
	}
	// An enrolled login cannot enroll again, not even into its own person with a fresh code.
	other := f.issue(t, "lakeside", "blake", "hospital")
	if _, err := f.svc.Redeem(ctx, first.with(other)); !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("enrolled login with a fresh code: %v, want ErrAlreadyEnrolled", err)
	}
	// The same subject at another network is another login.
	if _, err := f.svc.AccountFor(ctx, "summit", "https://idp.lakeside.test", "blake-sub"); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("AccountFor in another network: %v, want ErrNotEnrolled", err)
	}
}

func TestRedeemAcceptsCodesAsTyped(t *testing.T) {
	f := newFixture(t)
	retype := []func(string) string{
		strings.ToLower,
		func(c string) string { return strings.ReplaceAll(c, "-", "") },
		func(c string) string { return strings.ReplaceAll(c, "-", " ") },
		func(c string) string { return "  " + strings.ReplaceAll(strings.ToLower(c), "-", " - ") + "\n" },
		func(c string) string { return strings.ReplaceAll(c, "0", "O") },
		func(c string) string { return strings.ReplaceAll(c, "1", "l") },
	}
	for i, typed := range retype {
		code := f.issue(t, "lakeside", "alex", "hospital")
		l := login{"lakeside", fmt.Sprintf("typist-%d", i), "192.0.2.1"}
		if _, err := f.svc.Redeem(t.Context(), l.with(typed(code))); err != nil {
			t.Errorf("Redeem(%q) for code %s: %v", typed(code), code, err)
		}
	}
}

func TestCodeExpiry(t *testing.T) {
	for _, tt := range []struct {
		name     string
		kind     tenants.CodeKind
		lifetime time.Duration
	}{
		{"activation", tenants.ActivationCode, 45 * 24 * time.Hour},
		{"invitation", tenants.InvitationCode, 24 * time.Hour},
	} {
		for _, at := range []struct {
			after time.Duration
			works bool
		}{
			{0, true},
			{tt.lifetime / 2, true},
			{tt.lifetime - time.Nanosecond, true},
			{tt.lifetime, false},
			{tt.lifetime + time.Hour, false},
		} {
			t.Run(fmt.Sprintf("%s/%v", tt.name, at.after), func(t *testing.T) {
				f := newFixture(t)
				code, expires := f.issueKind(t, "lakeside", "alex", "lab", tt.kind)
				if want := start.Add(tt.lifetime); !expires.Equal(want) {
					t.Fatalf("expires = %v, want %v", expires, want)
				}
				f.clock.Advance(at.after)
				_, err := f.svc.Redeem(t.Context(), login{"lakeside", "alex-sub", "192.0.2.1"}.with(code))
				switch {
				case at.works && err != nil:
					t.Fatalf("Redeem %v after issue: %v", at.after, err)
				case !at.works && !errors.Is(err, ErrCodeRejected):
					t.Fatalf("Redeem %v after issue: %v, want ErrCodeRejected", at.after, err)
				}
			})
		}
	}
}

func TestRejectedCodesLookAlike(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	used := f.issue(t, "lakeside", "alex", "hospital")
	f.enroll(t, login{"lakeside", "first", "192.0.2.1"}, used)
	expired, _ := f.issueKind(t, "lakeside", "alex", "clinics", tenants.InvitationCode)
	f.clock.Advance(25 * time.Hour)
	elsewhere := f.issue(t, "summit", "sam", "north") // valid, but in another network
	valid := f.issue(t, "lakeside", "alex", "lab")
	wrong := []byte(valid)
	wrong[len(wrong)-1] ^= 1 // one symbol off

	var messages []string
	for i, code := range []string{used, expired, elsewhere, string(wrong), wrongCode, "not a code", ""} {
		// A fresh login and address each time, so no lockout interferes.
		l := login{"lakeside", fmt.Sprintf("guess-%d", i), fmt.Sprintf("198.51.100.%d", i)}
		_, err := f.svc.Redeem(ctx, l.with(code))
		if !errors.Is(err, ErrCodeRejected) {
			t.Fatalf("code %d: %v, want ErrCodeRejected", i, err)
		}
		messages = append(messages, err.Error())
		if strings.Contains(err.Error(), code) && code != "" {
			t.Errorf("error %q repeats the code", err)
		}
	}
	for i, m := range messages {
		if m != messages[0] {
			t.Errorf("rejection %d says %q, rejection 0 says %q: they must not differ", i, m, messages[0])
		}
	}
}

// lakeside's sign-up policy is the seed: 5 failures, then 30 minutes of lockout.
const (
	maxFailures = 5
	lockout     = 30 * time.Minute
)

func TestLockoutRefusesTheRightCodeUntilItEnds(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { testLockoutRefusesTheRightCode(t, newFixtureOn(t, e.Open)) })
	}
}

// testLockoutRefusesTheRightCode runs on every engine: Redis expires keys by its own clock,
// so there only the service's rules, on the fake clock, can end the lockout on time.
func testLockoutRefusesTheRightCode(t *testing.T, f *fixture) {
	ctx := t.Context()
	code := f.issue(t, "lakeside", "alex", "hospital")
	l := login{"lakeside", "alex-sub", "192.0.2.1"}

	for i := range maxFailures {
		f.clock.Advance(time.Minute)
		if _, err := f.svc.Redeem(ctx, l.with(wrongCode)); !errors.Is(err, ErrCodeRejected) {
			t.Fatalf("wrong code %d: %v, want ErrCodeRejected", i+1, err)
		}
	}
	lastFailure := f.clock.Now()
	until := lastFailure.Add(lockout)

	for _, at := range []time.Time{lastFailure, lastFailure.Add(lockout / 2), until.Add(-time.Nanosecond)} {
		f.clock.Set(at)
		_, err := f.svc.Redeem(ctx, l.with(code))
		var locked *LockedError
		if !errors.As(err, &locked) || !errors.Is(err, ErrLocked) {
			t.Fatalf("right code at %v: %v, want a LockedError", at.Sub(lastFailure), err)
		}
		// Refused attempts do not push the end of the lockout.
		if !locked.Until.Equal(until) {
			t.Fatalf("locked until %v, want %v", locked.Until, until)
		}
	}
	f.clock.Set(until)
	if acct, err := f.svc.Redeem(ctx, l.with(code)); err != nil || acct.Person != "alex" {
		t.Fatalf("right code as the lockout ends: %+v, %v", acct, err)
	}
}

func TestLockoutPerAddressSpansLogins(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { testLockoutPerAddress(t, newFixtureOn(t, e.Open)) })
	}
}

func testLockoutPerAddress(t *testing.T, f *fixture) {
	ctx := t.Context()
	code := f.issue(t, "lakeside", "alex", "hospital")
	const ip = "203.0.113.9"
	for i := range maxFailures {
		l := login{"lakeside", fmt.Sprintf("guesser-%d", i), ip}
		if _, err := f.svc.Redeem(ctx, l.with(wrongCode)); !errors.Is(err, ErrCodeRejected) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	fresh := login{"lakeside", "fresh-login", ip}
	if _, err := f.svc.Redeem(ctx, fresh.with(code)); !errors.Is(err, ErrLocked) {
		t.Fatalf("a fresh login from the locked address: %v, want ErrLocked", err)
	}
	// The same login from another address is not locked: the login itself has no failures.
	fresh.ip = "203.0.113.10"
	if _, err := f.svc.Redeem(ctx, fresh.with(code)); err != nil {
		t.Fatalf("the fresh login from another address: %v", err)
	}
}

func TestAttemptSource(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := attemptSource(tt.ip); got != tt.want {
			t.Errorf("attemptSource(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestLockoutPerAddressCoversAnIPv6Network(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for i := range maxFailures {
		l := login{"lakeside", fmt.Sprintf("rotator-%d", i), fmt.Sprintf("2001:db8:7:7::%x", i+1)}
		if _, err := f.svc.Redeem(ctx, l.with(wrongCode)); !errors.Is(err, ErrCodeRejected) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	code := f.issue(t, "lakeside", "alex", "lab")
	if _, err := f.svc.Redeem(ctx, login{"lakeside", "next", "2001:db8:7:7:abcd::9"}.with(code)); !errors.Is(err, ErrLocked) {
		t.Fatalf("another address of the same /64: %v, want ErrLocked", err)
	}
	if _, err := f.svc.Redeem(ctx, login{"lakeside", "next", "2001:db8:7:8::1"}.with(code)); err != nil {
		t.Fatalf("an address of another /64: %v", err)
	}
}

func TestFailuresFarApartDoNotLock(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	l := login{"lakeside", "slow-typist", "192.0.2.1"}
	for i := range 3 * maxFailures {
		if _, err := f.svc.Redeem(ctx, l.with(wrongCode)); !errors.Is(err, ErrCodeRejected) {
			t.Fatalf("wrong code %d: %v, want ErrCodeRejected", i+1, err)
		}
		if i%(maxFailures-1) == maxFailures-2 {
			f.clock.Advance(lockout) // a pause as long as the lockout starts the count anew
		}
	}
}

func TestLockoutFollowsTheNetworkPolicy(t *testing.T) {
	f := newFixture(t) // summit: 3 failures, 15 minutes
	ctx := t.Context()
	code := f.issue(t, "summit", "sam", "south")
	l := login{"summit", "sam-sub", "192.0.2.1"}
	for range 3 {
		_, _ = f.svc.Redeem(ctx, l.with(wrongCode))
	}
	var locked *LockedError
	if _, err := f.svc.Redeem(ctx, l.with(code)); !errors.As(err, &locked) || !locked.Until.Equal(start.Add(15*time.Minute)) {
		t.Fatalf("after 3 failures: %v, want locked until %v", err, start.Add(15*time.Minute))
	}
}

func TestNotWrongCodesDoNotCountAsFailures(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	young := Person{ID: "young", Network: "lakeside", BirthDate: date(2010, 1, 1), Records: []Record{{Org: "lab", Patient: "l-young"}}}
	f.putPerson(t, young)
	code := f.issue(t, "lakeside", "young", "lab")
	l := login{"lakeside", "young-sub", "192.0.2.1"}
	for range 2 * maxFailures {
		if _, err := f.svc.Redeem(ctx, l.with(code)); !errors.Is(err, ErrTooYoung) {
			t.Fatalf("Redeem: %v, want ErrTooYoung", err)
		}
	}
	// Neither the login nor the address was locked by being too young.
	other := f.issue(t, "lakeside", "alex", "lab")
	if _, err := f.svc.Redeem(ctx, l.with(other)); err != nil {
		t.Fatalf("a right code after refusals for age: %v", err)
	}
}

func TestTooYoungUntilTheBirthdayInTheNetworksZone(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	// 18 on 2026-03-10; lakeside counts days in Chicago, where that day starts at 05:00 UTC.
	f.putPerson(t, Person{ID: "teen", Network: "lakeside", BirthDate: date(2008, 3, 10), Records: []Record{{Org: "clinics", Patient: "c-teen"}}})
	f.clock.Set(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	code := f.issue(t, "lakeside", "teen", "clinics")
	l := login{"lakeside", "teen-sub", "192.0.2.1"}

	birthday := time.Date(2026, 3, 10, 0, 0, 0, 0, f.network(t, "lakeside").Location())
	for _, eve := range []time.Time{birthday.Add(-24 * time.Hour), birthday.Add(-time.Nanosecond)} {
		f.clock.Set(eve)
		if _, err := f.svc.Redeem(ctx, l.with(code)); !errors.Is(err, ErrTooYoung) {
			t.Fatalf("Redeem at %v: %v, want ErrTooYoung", eve, err)
		}
	}
	// The refusals left the code unused.
	f.clock.Set(birthday)
	if acct, err := f.svc.Redeem(ctx, l.with(code)); err != nil || acct.Person != "teen" {
		t.Fatalf("Redeem on the 18th birthday: %+v, %v", acct, err)
	}
}

func TestRedeemRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	code := f.issue(t, "lakeside", "alex", "lab")
	ok := login{"lakeside", "sub", "192.0.2.1"}.with(code)
	for _, tt := range []struct {
		name   string
		change func(*Redemption)
		want   error
	}{
		{"unknown network", func(r *Redemption) { r.Network = "nowhere" }, ErrUnknownNetwork},
		{"no issuer", func(r *Redemption) { r.Issuer = "" }, ErrInvalid},
		{"no subject", func(r *Redemption) { r.Subject = "" }, ErrInvalid},
		{"long subject", func(r *Redemption) { r.Subject = strings.Repeat("s", 256) }, ErrInvalid},
		{"no address", func(r *Redemption) { r.ClientIP = "" }, ErrInvalid},
	} {
		r := ok
		tt.change(&r)
		if _, err := f.svc.Redeem(t.Context(), r); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := f.svc.Redeem(t.Context(), ok); err != nil {
		t.Errorf("the code was spent by a refused redemption: %v", err)
	}
}

func TestIssueCodeRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name                 string
		network, person, org string
		kind                 tenants.CodeKind
		want                 error
	}{
		{"unknown network", "nowhere", "alex", "hospital", tenants.ActivationCode, ErrUnknownNetwork},
		{"unknown person", "lakeside", "nobody", "hospital", tenants.ActivationCode, ErrNotFound},
		{"bad person id", "lakeside", "a/b", "hospital", tenants.ActivationCode, ErrInvalid},
		{"external org", "lakeside", "alex", "riverbend", tenants.ActivationCode, ErrInvalid},
		{"unknown org", "lakeside", "alex", "elsewhere", tenants.ActivationCode, ErrInvalid},
		{"no record at org", "lakeside", "blake", "lab", tenants.ActivationCode, ErrInvalid},
		{"unknown kind", "lakeside", "alex", "hospital", tenants.CodeKind(7), ErrInvalid},
	} {
		if _, _, err := f.svc.IssueCode(t.Context(), tt.network, tt.person, tt.org, tt.kind); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}

// The tests below race on the store, so they run on every engine.

func TestConcurrentRedemptionsOfOneCode(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixtureOn(t, e.Open)
			code := f.issue(t, "lakeside", "alex", "hospital")
			const n = 16
			results := make([]error, n)
			winners := make([]*Account, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					l := login{"lakeside", fmt.Sprintf("racer-%d", i), fmt.Sprintf("198.51.100.%d", i)}
					winners[i], results[i] = f.svc.Redeem(t.Context(), l.with(code))
				})
			}
			wg.Wait()
			var won []*Account
			for i, err := range results {
				switch {
				case err == nil:
					won = append(won, winners[i])
				case !errors.Is(err, ErrCodeRejected):
					t.Errorf("racer %d: %v, want success or ErrCodeRejected", i, err)
				}
			}
			if len(won) != 1 {
				t.Fatalf("%d redemptions of one code succeeded, want exactly 1", len(won))
			}
			for i, err := range results {
				l := login{"lakeside", fmt.Sprintf("racer-%d", i), ""}.with("")
				acct, accountErr := f.svc.AccountFor(t.Context(), "lakeside", l.Issuer, l.Subject)
				switch {
				case err == nil && (accountErr != nil || *acct != *won[0]):
					t.Errorf("the winner's account = %+v, %v; want %+v", acct, accountErr, *won[0])
				case err != nil && !errors.Is(accountErr, ErrNotEnrolled):
					t.Errorf("racer %d lost but has account %+v, %v", i, acct, accountErr)
				}
			}
		})
	}
}

func TestConcurrentEnrollmentsOfOneLogin(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixtureOn(t, e.Open)
			codes := []string{f.issue(t, "lakeside", "alex", "hospital"), f.issue(t, "lakeside", "blake", "hospital")}
			l := login{"lakeside", "greedy", "192.0.2.1"}
			results := make([]error, len(codes))
			var wg sync.WaitGroup
			for i, code := range codes {
				wg.Go(func() { _, results[i] = f.svc.Redeem(t.Context(), l.with(code)) })
			}
			wg.Wait()
			acct, err := f.svc.AccountFor(t.Context(), "lakeside", l.with("").Issuer, l.subject)
			if err != nil {
				t.Fatal(err)
			}
			for i, err := range results {
				winner := []string{"alex", "blake"}[i] == acct.Person
				switch {
				case winner && err != nil:
					t.Errorf("the winning redemption failed: %v", err)
				case !winner && !errors.Is(err, ErrAlreadyEnrolled):
					t.Errorf("the losing redemption: %v, want ErrAlreadyEnrolled", err)
				case !winner:
					// The loser's code was not spent: someone else can still use it.
					other := login{"lakeside", "patient", "192.0.2.2"}
					if _, err := f.svc.Redeem(t.Context(), other.with(codes[i])); err != nil {
						t.Errorf("the losing redemption's code: %v", err)
					}
				}
			}
		})
	}
}

func TestParallelGuessesCannotOutrunTheLimit(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			f := newFixtureOn(t, e.Open)
			const n = 4 * maxFailures
			results := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					l := login{"lakeside", "guesser", fmt.Sprintf("198.51.100.%d", i)}
					_, results[i] = f.svc.Redeem(t.Context(), l.with(wrongCode))
				})
			}
			wg.Wait()
			var rejected, locked int
			for i, err := range results {
				switch {
				case errors.Is(err, ErrCodeRejected):
					rejected++
				case errors.Is(err, ErrLocked):
					locked++
				default:
					t.Errorf("guess %d: %v", i, err)
				}
			}
			if rejected != maxFailures || locked != n-maxFailures {
				t.Fatalf("%d guesses checked and %d refused; want %d and %d", rejected, locked, maxFailures, n-maxFailures)
			}
		})
	}
}

func TestAccountIDIsTheEnrolledAccountsID(t *testing.T) {
	f := newFixture(t)
	l := login{"lakeside", "alex-1", "192.0.2.1"}
	before := AccountID(l.network, l.with("").Issuer, l.subject)
	acct := f.enroll(t, l, f.issue(t, "lakeside", "alex", "hospital"))
	if acct.ID != before {
		t.Fatalf("enrolled as %s, AccountID said %s", acct.ID, before)
	}
	for _, other := range []string{
		AccountID("summit", acct.Issuer, acct.Subject),
		AccountID(acct.Network, acct.Issuer+"/", acct.Subject),
		AccountID(acct.Network, acct.Issuer, acct.Subject+"x"),
	} {
		if other == acct.ID {
			t.Errorf("another login has the id %s", other)
		}
	}
}
