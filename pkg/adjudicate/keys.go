package adjudicate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode"

	"github.com/refundguard/refundguard/pkg/claim"
)

// keyPrefix marks refundguard secrets so that secret scanners and people recognise them.
const keyPrefix = "rg_"

// maxSecretLen bounds what Authenticate hashes: real secrets are 46 characters.
const maxSecretLen = 128

// maxSubjectLen bounds a key's subject (a buyer or merchant id, or a reviewer's name).
const maxSubjectLen = 200

// HashSecret returns the stored form of an API key secret: hex sha256. The secret carries 256
// random bits, so a fast hash is enough (no password-stretching needed) and lets keys be
// looked up by hash.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret returns a fresh secret: the prefix and 32 random bytes, URL-safe base64.
func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", claim.Wrap(err, claim.CodeInternal, "generating a key")
	}
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Authenticate returns the principal a secret belongs to. Unknown, malformed and revoked
// secrets all get the same unauthenticated error.
//
// Timing: the secret is hashed before the lookup, so the database index compares hashes, and
// how long a miss takes reveals at most a prefix of a hash, which says nothing about any
// secret. The final comparison is constant-time all the same.
func (s *Service) Authenticate(ctx context.Context, secret string) (claim.Principal, error) {
	denied := claim.Errorf(claim.CodeUnauthenticated, "the API key is missing, unknown or revoked")
	if len(secret) < len(keyPrefix)+16 || len(secret) > maxSecretLen || !strings.HasPrefix(secret, keyPrefix) {
		return claim.Principal{}, denied
	}
	hash := HashSecret(secret)
	k, err := s.store.KeyByHash(ctx, hash)
	if claim.IsNotFound(err) {
		return claim.Principal{}, denied
	}
	if err != nil {
		return claim.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 || k.RevokedAt != nil || !k.Role.Valid() {
		return claim.Principal{}, denied
	}
	return claim.Principal{KeyID: k.ID, Role: k.Role, Subject: k.Subject}, nil
}

// CreateKey makes a key for role and subject and returns it with its secret, which is shown
// this once and never stored. Only admins may create keys (the keys command acts as an
// admin principal on the local machine).
func (s *Service) CreateKey(ctx context.Context, by claim.Principal, role claim.Role, subject string) (claim.APIKey, string, error) {
	if err := requireRole(by, claim.RoleAdmin); err != nil {
		return claim.APIKey{}, "", err
	}
	if !role.Valid() {
		return claim.APIKey{}, "", claim.FieldError("role", "role must be buyer, merchant, reviewer or admin")
	}
	subject = strings.TrimSpace(subject)
	if err := validateSubject(subject); err != nil {
		return claim.APIKey{}, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return claim.APIKey{}, "", err
	}
	var k claim.APIKey
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		k, err = s.store.CreateKey(ctx, claim.APIKey{Role: role, Subject: subject, Hash: HashSecret(secret), CreatedAt: s.now()})
		if err != nil {
			return err
		}
		return s.audit(ctx, by.Actor(), "key.created", "key", k.ID, nil,
			map[string]any{"role": k.Role, "subject": k.Subject})
	})
	if err != nil {
		return claim.APIKey{}, "", err
	}
	return k, secret, nil
}

func validateSubject(subject string) error {
	switch {
	case subject == "":
		return claim.FieldError("subject", "subject is required: the buyer's or merchant's id, or the reviewer's name")
	case len(subject) > maxSubjectLen:
		return claim.FieldError("subject", "subject is longer than %d bytes", maxSubjectLen)
	case strings.ContainsFunc(subject, unicode.IsControl):
		return claim.FieldError("subject", "subject must not contain control characters")
	}
	return nil
}

// RevokeKey revokes a key; revoking a revoked key succeeds without a second event. Admins
// only; an admin cannot revoke the key it is using (that would lock out the last admin by
// accident; use another admin key).
func (s *Service) RevokeKey(ctx context.Context, by claim.Principal, id string) error {
	if err := requireRole(by, claim.RoleAdmin); err != nil {
		return err
	}
	if id == by.KeyID {
		return claim.Errorf(claim.CodeConflict, "a key cannot revoke itself; use another admin key")
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		k, err := s.store.GetKey(ctx, id)
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		k, err = s.store.RevokeKey(ctx, id, s.now())
		if err != nil {
			return err
		}
		return s.audit(ctx, by.Actor(), "key.revoked", "key", k.ID,
			map[string]any{"revoked": false}, map[string]any{"revoked": true, "role": k.Role, "subject": k.Subject})
	})
}
