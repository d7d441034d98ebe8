package idp

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
)

// directory holds the people who can sign in.
type directory struct {
	mu         sync.RWMutex
	bySubject  map[string]*account
	byUsername map[string]*account
}

// account is a User as stored: the password only as a hash, compared in
// constant time.
type account struct {
	User
	passwordHash [sha256.Size]byte
}

func newDirectory() *directory {
	return &directory{bySubject: map[string]*account{}, byUsername: map[string]*account{}}
}

func (d *directory) add(u User) error {
	if err := checkUser(u); err != nil {
		return err
	}
	a := &account{User: u, passwordHash: sha256.Sum256([]byte(u.Password))}
	a.Password = ""
	a.AMR = slices.Clone(u.AMR)
	if len(a.AMR) == 0 {
		a.AMR = []string{"pwd"}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, dup := d.bySubject[u.Subject]; dup {
		return fmt.Errorf("user subject %q is taken", u.Subject)
	}
	if _, dup := d.byUsername[u.Username]; dup {
		return fmt.Errorf("username %q is taken", u.Username)
	}
	d.bySubject[u.Subject] = a
	d.byUsername[u.Username] = a
	return nil
}

// authenticate returns the account whose credentials these are. Unknown
// usernames cost the same comparison as wrong passwords.
func (d *directory) authenticate(username, password string) (*account, bool) {
	d.mu.RLock()
	a, found := d.byUsername[username]
	d.mu.RUnlock()
	want := [sha256.Size]byte{}
	if found {
		want = a.passwordHash
	}
	got := sha256.Sum256([]byte(password))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !found {
		return nil, false
	}
	return a, true
}

func (d *directory) bySubjectID(subject string) (*account, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	a, ok := d.bySubject[subject]
	return a, ok
}

func checkUser(u User) error {
	switch {
	case u.Subject == "":
		return errors.New("user subject is empty")
	case !isToken(u.Subject) || strings.Contains(u.Subject, ":"):
		// Access tokens seal "tokenID:subject" (op.CreateBearerToken).
		return fmt.Errorf("user subject %q must be printable ASCII without spaces or colons", u.Subject)
	case u.Username == "" || !isToken(u.Username):
		return fmt.Errorf("user %q: username %q must be non-empty printable ASCII without spaces", u.Subject, u.Username)
	case u.Password == "":
		return fmt.Errorf("user %q has no password", u.Subject)
	}
	if u.BirthDate != "" {
		if _, err := time.Parse(time.DateOnly, u.BirthDate); err != nil {
			return fmt.Errorf("user %q: birth date %q is not YYYY-MM-DD", u.Subject, u.BirthDate)
		}
	}
	for _, m := range u.AMR {
		if !isToken(m) {
			return fmt.Errorf("user %q: amr value %q must be printable ASCII without spaces", u.Subject, m)
		}
	}
	return nil
}

// isToken reports whether s is non-empty printable ASCII without spaces.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return false
		}
	}
	return true
}
