package tenants

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// BillingPolicy rules payments, payment plans and statements.
type BillingPolicy struct {
	PlanMaxMonths  int `yaml:"planMaxMonths"`
	MaxActivePlans int `yaml:"maxActivePlans"`
	// PaperlessDefault: statements are paperless unless the patient opts out.
	PaperlessDefault bool `yaml:"paperlessDefault"`
}

// Errors from billing rules, for mapping to client errors.
var (
	ErrPlanTooLong    = errors.New("payment plan too long")
	ErrPlanLimit      = errors.New("payment plan limit reached")
	ErrNothingOwed    = errors.New("no balance to pay")
	ErrUnknownAccount = errors.New("no balance on the chosen account")
)

// CheckPlan reports why a new plan of months installments cannot start
// while activePlans plans run, or nil.
func (p BillingPolicy) CheckPlan(months, activePlans int) error {
	if months < 1 || months > p.PlanMaxMonths {
		return fmt.Errorf("%w: %d months requested, 1 to %d allowed", ErrPlanTooLong, months, p.PlanMaxMonths)
	}
	if activePlans >= p.MaxActivePlans {
		return fmt.Errorf("%w: %d active, at most %d at a time", ErrPlanLimit, activePlans, p.MaxActivePlans)
	}
	return nil
}

// Balance is what is owed on one billing account.
type Balance struct {
	Account string
	Amount  int64     // in the currency's minor unit; > 0 means owed
	Since   time.Time // when the oldest unpaid charge was billed
}

// PaymentTarget returns the account a payment goes to: the chosen one if
// the patient picked one, else the one with the oldest unpaid balance (ties
// go to the lower account id, so the choice is stable).
func PaymentTarget(chosen string, balances []Balance) (string, error) {
	owed := slices.DeleteFunc(slices.Clone(balances), func(b Balance) bool { return b.Amount <= 0 })
	if chosen != "" {
		if !slices.ContainsFunc(owed, func(b Balance) bool { return b.Account == chosen }) {
			return "", fmt.Errorf("%w: %q", ErrUnknownAccount, chosen)
		}
		return chosen, nil
	}
	if len(owed) == 0 {
		return "", ErrNothingOwed
	}
	oldest := slices.MinFunc(owed, func(a, b Balance) int {
		return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.Account, b.Account))
	})
	return oldest.Account, nil
}
