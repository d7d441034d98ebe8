package accounts

import (
	"context"
	"time"

	"github.com/portalgate/portalgate/gateway/store"
	"github.com/portalgate/portalgate/tenants"
)

// attempts counts the code attempts of one party (a login or a client address) against the
// sign-up policy: after MaxFailedAttempts failures, each within Lockout of the one before,
// attempts are refused until Lockout after the last failure.
//
// An attempt is counted as a failure before its code is checked and forgiven afterwards if
// the code was right, so that parallel attempts cannot outrun the limit: the store's
// compare-and-swap lets exactly MaxFailedAttempts of them through.
type attempts struct {
	kv     store.KV
	key    string
	policy tenants.SignUpPolicy
}

type attemptCount struct {
	Failures int       `json:"failures"`
	Last     time.Time `json:"last"`
}

// take counts an attempt at now, or refuses it with a *LockedError.
func (a attempts) take(ctx context.Context, now time.Time) error {
	lockout := a.policy.Lockout.Std()
	return update(ctx, a.kv, a.key, func(cur *attemptCount) (*attemptCount, time.Duration, error) {
		if cur != nil && a.policy.Locked(cur.Failures, cur.Last, now) {
			until, _ := a.policy.LockedUntil(cur.Failures, cur.Last)
			return nil, 0, &LockedError{Until: until}
		}
		next := attemptCount{Failures: 1, Last: now}
		if cur != nil && now.Before(cur.Last.Add(lockout)) {
			next.Failures = cur.Failures + 1 // still within the window of the last failure
		}
		return &next, lockout + expirySlack, nil
	})
}

// forgive takes back an attempt counted by take that turned out not to be a wrong code.
func (a attempts) forgive(ctx context.Context, now time.Time) error {
	return update(ctx, a.kv, a.key, func(cur *attemptCount) (*attemptCount, time.Duration, error) {
		if cur == nil || cur.Failures == 0 {
			return nil, 0, nil
		}
		next := attemptCount{Failures: cur.Failures - 1, Last: cur.Last}
		return &next, max(cur.Last.Add(a.policy.Lockout.Std()).Sub(now), 0) + expirySlack, nil
	})
}

// reset forgets every failure, as a success ends a run of wrong codes.
func (a attempts) reset(ctx context.Context) error {
	return a.kv.Delete(ctx, a.key)
}
