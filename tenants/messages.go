package tenants

import (
	"errors"
	"fmt"
	"mime"
	"slices"
	"time"
)

// MessagePolicy rules patient messages to clinicians.
type MessagePolicy struct {
	// A patient may write to clinicians seen within ClinicianLookback or
	// booked within ClinicianLookahead.
	ClinicianLookback  Period `yaml:"clinicianLookback"`
	ClinicianLookahead Period `yaml:"clinicianLookahead"`

	MaxAttachments    int      `yaml:"maxAttachments"`
	MaxAttachmentSize ByteSize `yaml:"maxAttachmentSize"`
	// AllowedMediaTypes are exact media types; there are no wildcards so
	// that active content such as image/svg+xml is never let in by accident.
	AllowedMediaTypes []string `yaml:"allowedMediaTypes"`

	// HideFromProxyAllowed: a patient may hide a message from their proxies.
	HideFromProxyAllowed bool `yaml:"hideFromProxyAllowed"`
	// ReplyWithinBusinessDays is the reply time the portal promises.
	ReplyWithinBusinessDays int `yaml:"replyWithinBusinessDays"`
	// UrgentWarning is shown before a patient writes.
	UrgentWarning string `yaml:"urgentWarning"`
}

// CanMessage reports whether a patient may write to a clinician last seen
// at lastVisit or next booked at nextVisit (zero: none), at now. Both ends
// of each window are inclusive.
func (p MessagePolicy) CanMessage(lastVisit, nextVisit, now time.Time) bool {
	seen := !lastVisit.IsZero() && !lastVisit.After(now) && !lastVisit.Before(p.ClinicianLookback.Before(now))
	booked := !nextVisit.IsZero() && !nextVisit.Before(now) && !nextVisit.After(p.ClinicianLookahead.After(now))
	return seen || booked
}

// Attachment describes one file attached to a message.
type Attachment struct {
	MediaType string // Content-Type, parameters allowed
	Size      int64  // bytes
}

// Errors from CheckAttachments, for mapping to client errors.
var (
	ErrTooManyAttachments    = errors.New("too many attachments")
	ErrAttachmentTooLarge    = errors.New("attachment too large")
	ErrMediaTypeNotAllowed   = errors.New("attachment type not allowed")
	errAttachmentSizeInvalid = errors.New("attachment size is invalid")
)

// CheckAttachments reports the first attachment the policy refuses.
func (p MessagePolicy) CheckAttachments(atts []Attachment) error {
	if len(atts) > p.MaxAttachments {
		return fmt.Errorf("%w: %d attached, at most %d allowed", ErrTooManyAttachments, len(atts), p.MaxAttachments)
	}
	for i, a := range atts {
		mt, _, err := mime.ParseMediaType(a.MediaType)
		if err != nil || !slices.Contains(p.AllowedMediaTypes, mt) {
			return fmt.Errorf("%w: attachment %d is %q; allowed: %v", ErrMediaTypeNotAllowed, i+1, a.MediaType, p.AllowedMediaTypes)
		}
		if a.Size < 0 {
			return fmt.Errorf("%w: attachment %d", errAttachmentSizeInvalid, i+1)
		}
		if a.Size > int64(p.MaxAttachmentSize) {
			return fmt.Errorf("%w: attachment %d is %d bytes, at most %s allowed", ErrAttachmentTooLarge, i+1, a.Size, p.MaxAttachmentSize)
		}
	}
	return nil
}

// ReplyDueBy returns when a reply to a message sent at sent is due: the same
// time of day ReplyWithinBusinessDays weekdays later, counted in sent's
// location. A message sent on a weekend counts from the next Monday's
// business day. Public holidays are not counted out.
func (p MessagePolicy) ReplyDueBy(sent time.Time) time.Time {
	due := sent
	for range p.ReplyWithinBusinessDays {
		due = due.AddDate(0, 0, 1)
		for isWeekend(due) {
			due = due.AddDate(0, 0, 1)
		}
	}
	return due
}

func isWeekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}
