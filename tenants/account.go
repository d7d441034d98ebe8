package tenants

import (
	"time"
)

// SignUpPolicy rules account activation: who may sign up, how long one-time
// codes last, and the attempt limit against guessing them.
type SignUpPolicy struct {
	MinAge int `yaml:"minAge"`
	// ActivationCodeExpiry is the life of a code handed out in person or on
	// paper; InvitationExpiry that of one sent by email or SMS.
	ActivationCodeExpiry Duration `yaml:"activationCodeExpiry"`
	InvitationExpiry     Duration `yaml:"invitationExpiry"`
	// After MaxFailedAttempts wrong codes in a row, attempts are refused
	// for Lockout from the last failure.
	MaxFailedAttempts int      `yaml:"maxFailedAttempts"`
	Lockout           Duration `yaml:"lockout"`
}

// OldEnough reports whether someone born on birth may sign up at now; the
// birthday itself counts.
func (p SignUpPolicy) OldEnough(birth Date, now time.Time) bool {
	return AgeOn(birth, now) >= p.MinAge
}

// CodeKind tells activation codes from invitations.
type CodeKind int

const (
	ActivationCode CodeKind = iota // handed out in person or on paper
	InvitationCode                 // sent by email or SMS
)

// CodeExpiresAt returns when a code issued at issued stops working.
func (p SignUpPolicy) CodeExpiresAt(kind CodeKind, issued time.Time) time.Time {
	if kind == InvitationCode {
		return issued.Add(p.InvitationExpiry.Std())
	}
	return issued.Add(p.ActivationCodeExpiry.Std())
}

// CodeValid reports whether a code issued at issued works at now; it stops
// exactly at its expiry.
func (p SignUpPolicy) CodeValid(kind CodeKind, issued, now time.Time) bool {
	return !now.Before(issued) && now.Before(p.CodeExpiresAt(kind, issued))
}

// LockedUntil returns when attempts may resume after failures consecutive
// failures, the last at lastFailure, and false when they are not locked.
func (p SignUpPolicy) LockedUntil(failures int, lastFailure time.Time) (time.Time, bool) {
	if failures < p.MaxFailedAttempts {
		return time.Time{}, false
	}
	return lastFailure.Add(p.Lockout.Std()), true
}

// Locked reports whether attempts are refused at now.
func (p SignUpPolicy) Locked(failures int, lastFailure, now time.Time) bool {
	until, locked := p.LockedUntil(failures, lastFailure)
	return locked && now.Before(until)
}

// SessionPolicy bounds a signed-in session.
type SessionPolicy struct {
	// IdleTimeout ends a session after this long without a request.
	IdleTimeout Duration `yaml:"idleTimeout"`
	// MaxLifetime ends a session this long after sign-in, however active.
	MaxLifetime Duration `yaml:"maxLifetime"`
}

// ExpiresAt returns when a session started at started and last used at
// lastActive ends.
func (p SessionPolicy) ExpiresAt(started, lastActive time.Time) time.Time {
	idle := lastActive.Add(p.IdleTimeout.Std())
	absolute := started.Add(p.MaxLifetime.Std())
	if idle.Before(absolute) {
		return idle
	}
	return absolute
}

// Expired reports whether the session has ended at now; it ends exactly at
// ExpiresAt.
func (p SessionPolicy) Expired(started, lastActive, now time.Time) bool {
	return !now.Before(p.ExpiresAt(started, lastActive))
}
